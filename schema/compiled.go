package schema

import (
	"fmt"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/jsonnum"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// A checker is a schema compiled into Go: the same check as the JSON
// Schema validator for the keywords it supports, without converting each
// value into maps and walking it generically. It is made from the
// validator's own compiled schema (so every check and every schema
// location comes from the published file) and refuses a schema that uses
// any keyword it does not implement; tests run both on every manifest of
// the test corpus and on hostile variations of each field.
//
// A checker only finds where the document breaks the schema. What it
// finds goes through the same translation as the validator's errors
// (onePerPlace, render), so the messages are the same by construction.
//
// Supported: one type per schema (object or string), properties,
// required, additionalProperties (false or a schema), maxProperties,
// propertyNames; minLength, maxLength and pattern on strings;
// annotations.
type checker struct {
	url string // the schema's location, as the validator reports it
	typ string // the one JSON type allowed
	// object
	props    []prop
	required []string
	// additional checks the values of keys not in props; nil: such keys
	// are not allowed (additionalProperties false).
	additional *checker
	// names checks every key (propertyNames), nil for none.
	names    *checker
	maxProps int // -1: none
	// string
	minLen, maxLen int // -1: none
	pattern        jsonschema.Regexp
	match          func(string) bool // pattern as Go code, when known
}

type prop struct {
	name string
	c    *checker
}

// compileChecker makes a checker of s, or says which keyword it cannot
// check.
func compileChecker(s *jsonschema.Schema) (*checker, error) {
	unsupported := s.Bool != nil || s.Ref != nil || s.RecursiveRef != nil || s.DynamicRef != nil ||
		s.Enum != nil || s.Const != nil || s.Not != nil || s.AllOf != nil || s.AnyOf != nil || s.OneOf != nil ||
		s.If != nil || s.Then != nil || s.Else != nil || s.Format != nil ||
		s.MinProperties != nil || len(s.PatternProperties) > 0 ||
		len(s.Dependencies) > 0 || len(s.DependentRequired) > 0 || len(s.DependentSchemas) > 0 || s.UnevaluatedProperties != nil ||
		s.MinItems != nil || s.MaxItems != nil || s.UniqueItems || s.Contains != nil || s.Items != nil || s.AdditionalItems != nil ||
		s.PrefixItems != nil || s.Items2020 != nil || s.UnevaluatedItems != nil ||
		s.ContentEncoding != nil || s.ContentMediaType != nil || s.ContentSchema != nil ||
		s.Maximum != nil || s.Minimum != nil || s.ExclusiveMaximum != nil || s.ExclusiveMinimum != nil || s.MultipleOf != nil ||
		len(s.Extensions) > 0
	if unsupported {
		return nil, fmt.Errorf("%s: a keyword the compiled checks do not implement", s.Location)
	}
	if s.Types == nil || len(s.Types.ToStrings()) != 1 {
		return nil, fmt.Errorf("%s: the compiled checks need exactly one type", s.Location)
	}
	c := &checker{url: s.Location, typ: s.Types.ToStrings()[0], minLen: -1, maxLen: -1, maxProps: -1}
	switch c.typ {
	case "object":
		switch ap := s.AdditionalProperties.(type) {
		case bool:
			if ap {
				return nil, fmt.Errorf("%s: the compiled checks need additionalProperties: false or a schema", s.Location)
			}
		case *jsonschema.Schema:
			ac, err := compileChecker(ap)
			if err != nil {
				return nil, err
			}
			c.additional = ac
		default:
			return nil, fmt.Errorf("%s: the compiled checks need additionalProperties: false or a schema", s.Location)
		}
		if s.MinLength != nil || s.MaxLength != nil || s.Pattern != nil {
			return nil, fmt.Errorf("%s: string keywords on an object", s.Location)
		}
		if s.MaxProperties != nil {
			c.maxProps = *s.MaxProperties
		}
		if s.PropertyNames != nil {
			nc, err := compileChecker(s.PropertyNames)
			if err != nil {
				return nil, err
			}
			if nc.typ != "string" {
				return nil, fmt.Errorf("%s: the compiled checks need propertyNames of type string", s.Location)
			}
			c.names = nc
		}
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			pc, err := compileChecker(s.Properties[n])
			if err != nil {
				return nil, err
			}
			c.props = append(c.props, prop{name: n, c: pc})
		}
		c.required = slices.Clone(s.Required)
	case "string":
		if len(s.Properties) > 0 || s.Required != nil || s.AdditionalProperties != nil || s.MaxProperties != nil || s.PropertyNames != nil {
			return nil, fmt.Errorf("%s: object keywords on a string", s.Location)
		}
		if s.MinLength != nil {
			c.minLen = *s.MinLength
		}
		if s.MaxLength != nil {
			c.maxLen = *s.MaxLength
		}
		if s.Pattern != nil {
			c.pattern = s.Pattern
			c.match = knownPatterns[s.Pattern.String()]
		}
	default:
		return nil, fmt.Errorf("%s: the compiled checks do not check type %s", s.Location, c.typ)
	}
	return c, nil
}

func (c *checker) lookup(key string) *checker {
	for i := range c.props {
		if c.props[i].name == key {
			return c.props[i].c
		}
	}
	return nil
}

// check appends the leaves for n, at loc, breaking c. A valid node
// allocates nothing.
func (c *checker) check(n *doc.Node, loc []string, out []leaf) []leaf {
	if !c.typeOK(n) {
		var k jsonschema.ErrorKind = &kind.Type{Want: []string{c.typ}}
		if n.Kind == doc.Number && !jsonnum.Valid(n.Text) {
			// What the validator says of a number it cannot take (YAML's
			// 0x1F); its message is the same as for a wrong type.
			k = &kind.InvalidJsonValue{}
		}
		return append(out, leaf{kind: k, loc: slices.Clone(loc), url: c.url})
	}
	switch c.typ {
	case "object":
		for i := range n.Kids {
			k := &n.Kids[i]
			pc := c.lookup(k.Key)
			if pc == nil {
				pc = c.additional
			}
			if pc == nil {
				out = append(out, leaf{kind: &kind.AdditionalProperties{Properties: []string{k.Key}}, loc: slices.Clone(loc), url: c.url, key: k.Key})
				continue
			}
			out = pc.check(k, append(loc, k.Key), out)
		}
		if c.maxProps >= 0 && len(n.Kids) > c.maxProps {
			out = append(out, leaf{kind: &kind.MaxProperties{Got: len(n.Kids), Want: c.maxProps}, loc: slices.Clone(loc), url: c.url})
		}
		if c.names != nil {
			for i := range n.Kids {
				if k := n.Kids[i].Key; !c.names.stringOK(k) {
					out = append(out, leaf{kind: &kind.PropertyNames{Property: k}, loc: slices.Clone(loc), url: c.names.url, key: k})
				}
			}
		}
		var missing []string
		for _, r := range c.required {
			if n.Field(r) == nil {
				missing = append(missing, r)
			}
		}
		if missing != nil {
			out = append(out, leaf{kind: &kind.Required{Missing: missing}, loc: slices.Clone(loc), url: c.url})
		}
	case "string":
		s := n.Text
		if c.minLen >= 0 || c.maxLen >= 0 {
			l := utf8.RuneCountInString(s)
			if l < c.minLen {
				out = append(out, leaf{kind: &kind.MinLength{Got: l, Want: c.minLen}, loc: slices.Clone(loc), url: c.url})
			}
			if c.maxLen >= 0 && l > c.maxLen {
				out = append(out, leaf{kind: &kind.MaxLength{Got: l, Want: c.maxLen}, loc: slices.Clone(loc), url: c.url})
			}
		}
		if c.pattern != nil {
			ok := false
			if c.match != nil {
				ok = c.match(s)
			} else {
				ok = c.pattern.MatchString(s)
			}
			if !ok {
				out = append(out, leaf{kind: &kind.Pattern{Got: s, Want: c.pattern.String()}, loc: slices.Clone(loc), url: c.url})
			}
		}
	}
	return out
}

// stringOK reports whether s passes a string checker: what propertyNames
// needs to know of a key (its error names the key, not why).
func (c *checker) stringOK(s string) bool {
	if c.minLen >= 0 || c.maxLen >= 0 {
		l := utf8.RuneCountInString(s)
		if l < c.minLen || (c.maxLen >= 0 && l > c.maxLen) {
			return false
		}
	}
	if c.pattern == nil {
		return true
	}
	if c.match != nil {
		return c.match(s)
	}
	return c.pattern.MatchString(s)
}

func (c *checker) typeOK(n *doc.Node) bool {
	switch n.Kind {
	case doc.Mapping:
		return c.typ == "object"
	case doc.String:
		return c.typ == "string"
	}
	return false
}

// payout checks n, item i of the payouts sequence, with c, and
// translates what it finds the way validationErrors translates the
// validator's errors. prefix is the sequence's path; loc is scratch
// space.
func (t *translator) payout(c *checker, n *doc.Node, i int, prefix []string, loc []string) []Violation {
	ls := c.check(n, loc[:0], nil)
	if len(ls) == 0 {
		return nil
	}
	ls = onePerPlace(t, ls)
	p := make([]string, len(prefix)+1)
	copy(p, prefix)
	p[len(prefix)] = strconv.Itoa(i)
	vs := make([]Violation, 0, len(ls))
	for _, l := range ls {
		vs = append(vs, t.render(l, n, p))
	}
	return vs
}

// payoutCount is how many violations payout would return for n, without
// phrasing them: past the first screenful of errors only their number is
// shown.
func (t *translator) payoutCount(c *checker, n *doc.Node, loc []string) int {
	ls := c.check(n, loc[:0], nil)
	if len(ls) == 0 {
		return 0
	}
	return len(onePerPlace(t, ls))
}

// knownPatterns are the manifest schema's patterns written as Go code: a
// regular expression costs about as much as the rest of a payout's check.
// Each must accept exactly what its pattern accepts (TestKnownPatterns,
// FuzzKnownPatterns); a pattern not listed here is matched by the
// validator's regular expression.
var knownPatterns = map[string]func(string) bool{
	`^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$`: func(s string) bool {
		return nameLike(s, 64, isAlnum, isIDByte)
	},
	`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`: func(s string) bool {
		return nameLike(s, 64, isLowerAlnum, func(c byte) bool { return isLowerAlnum(c) || c == '.' || c == '_' || c == '-' })
	},
	`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`: func(s string) bool {
		return nameLike(s, 32, isLowerAlnum, func(c byte) bool { return isLowerAlnum(c) || c == '-' })
	},
	decimalPattern: isPlainDecimalStrict,
	`^[A-Z]{2}$`:   func(s string) bool { return len(s) == 2 && isUpper(s[0]) && isUpper(s[1]) },
	`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`: func(s string) bool {
		if len(s) == 0 || len(s) > 64 || !isLetter(s[0]) {
			return false
		}
		for i := 1; i < len(s); i++ {
			if !isIDByte(s[i]) {
				return false
			}
		}
		return true
	},
	textPattern:  isPrintableText,
	`^[A-Z]{3}$`: func(s string) bool { return len(s) == 3 && isUpper(s[0]) && isUpper(s[1]) && isUpper(s[2]) },
}

// nameLike matches 1 to max bytes, the first and last end, the others mid.
func nameLike(s string, max int, end, mid func(byte) bool) bool {
	n := len(s)
	if n == 0 || n > max || !end(s[0]) || !end(s[n-1]) {
		return false
	}
	for i := 1; i < n-1; i++ {
		if !mid(s[i]) {
			return false
		}
	}
	return true
}

// textPattern is the schema's printable text (reference, metadata values).
const textPattern = `^[^\p{Cc}\p{Cf}\p{Co}\p{Zl}\p{Zp}]*$`

// isPrintableText is textPattern. A byte that is not UTF-8 is U+FFFD to
// both this loop and the regular expression.
func isPrintableText(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Zl, unicode.Zp) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool     { return isUpper(c) || ('a' <= c && c <= 'z') }
func isUpper(c byte) bool      { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLowerAlnum(c byte) bool { return ('a' <= c && c <= 'z') || isDigit(c) }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || isUpper(c) }
func isIDByte(c byte) bool     { return isAlnum(c) || c == '.' || c == '_' || c == '-' }

// isPlainDecimalStrict is decimalPattern: "0" or digits without a
// leading zero, then optionally a point and at least one digit.
func isPlainDecimalStrict(s string) bool {
	i := 0
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && isDigit(s[i]):
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' || i+1 == len(s) {
		return false
	}
	for i++; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
