package schema

import (
	"encoding/json"
	"fmt"
	"github.com/payctl/payctl/internal/diag"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/jsonnum"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// translator turns the validator's error tree into violations: it keeps
// the leaf errors (dropping the wrappers "allOf failed", "$ref failed"),
// resolves alternatives to the branch that explains the problem, keeps one
// error per place, and phrases each by its kind (never by matching the
// validator's English text).
type translator struct {
	c      *compiled
	format doc.Format
	// label names the field at a display path (see display) for
	// messages, e.g. "recipient.account"; for the empty path, the whole
	// document.
	label func(path []string) string
}

func manifestLabel(path []string) string {
	if len(path) >= 3 && path[0] == "spec" && path[1] == "payouts" {
		if len(path) == 3 {
			return "payout"
		}
		// A payout's fields are named from the payout, as users think of
		// them; the position says which payout.
		return joinPath(path[3:])
	}
	if len(path) == 0 {
		return "the manifest"
	}
	return joinPath(path)
}

func configLabel(path []string) string {
	if len(path) == 0 {
		return "the config"
	}
	return joinPath(path)
}

// joinPath spells a display path the way users refer to fields: keys
// joined by dots, sequence indexes (already "[i]") attached
// ("hours.days[1]").
func joinPath(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// display turns an instance location into display segments: sequence
// indexes become "[i]", so that a provider named "123" stays a key. The
// prefix only ever holds keys and the index of a payout.
func display(root *doc.Node, prefix, loc []string) []string {
	out := make([]string, 0, len(prefix)+len(loc))
	for i, p := range prefix {
		if i > 0 && allDigits(p) {
			p = "[" + p + "]"
		}
		out = append(out, p)
	}
	n := root
	for _, p := range loc {
		if n != nil && n.Kind == doc.Sequence {
			out = append(out, "["+p+"]")
		} else {
			out = append(out, p)
		}
		if n != nil {
			n = n.At([]string{p})
		}
	}
	return out
}

// leaf is one error that says something about the document itself.
type leaf struct {
	kind jsonschema.ErrorKind
	loc  []string // relative to the validated node
	url  string   // schema location that raised it
	key  string   // the key, for errors about one key of a mapping
	// anc is the location of the nearest enclosing error, kept for
	// propertyNames errors (see fixKeyOwners).
	anc []string
}

func (l leaf) place() string { return strings.Join(l.loc, "\x00") + "\x01" + l.key }

func (t *translator) validationErrors(err error, root *doc.Node, prefix []string) []Violation {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []Violation{{Path: prefix, Pos: root.Pos(), Msg: err.Error()}}
	}
	ls := t.leaves(ve, nil, nil)
	fixKeyOwners(root, ls)
	ls = onePerPlace(t, ls)
	vs := make([]Violation, 0, len(ls))
	for _, l := range ls {
		vs = append(vs, t.render(l, root, prefix))
	}
	return vs
}

// leaves flattens the error tree. anc is the instance location of the
// nearest enclosing error.
func (t *translator) leaves(e *jsonschema.ValidationError, anc []string, out []leaf) []leaf {
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		for _, c := range e.Causes {
			out = t.leaves(c, e.InstanceLocation, out)
		}
		return out
	case *kind.AnyOf:
		return t.choice(e, out)
	case *kind.OneOf:
		if k.Subschemas == nil {
			return t.choice(e, out)
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			out = append(out, leaf{kind: k, loc: e.InstanceLocation, url: e.SchemaURL, key: p})
		}
		return out
	case *kind.PropertyNames:
		return append(out, leaf{kind: k, loc: slices.Clone(e.InstanceLocation), url: e.SchemaURL, key: k.Property, anc: slices.Clone(anc)})
	}
	return append(out, leaf{kind: e.ErrorKind, loc: e.InstanceLocation, url: e.SchemaURL})
}

// fixKeyOwners corrects the location of propertyNames errors.
// jsonschema v6.0.3 gives them the validator's live location slice instead
// of a copy, so by the time validation returns its elements may name a
// sibling visited later (and which one depends on map iteration order).
// Its length is still right, and every other error's location is a copy,
// so the mapping at fault is found below the nearest enclosing error: a
// mapping at the right depth that holds the offending key. Two errors for
// the same key under the same ancestor get distinct mappings.
func fixKeyOwners(root *doc.Node, ls []leaf) {
	used := map[string]bool{}
	for i := range ls {
		l := &ls[i]
		if _, ok := l.kind.(*kind.PropertyNames); !ok {
			continue
		}
		base := root.At(l.anc)
		depth := len(l.loc) - len(l.anc)
		if base == nil || depth < 0 {
			continue
		}
		var found [][]string
		var walk func(n *doc.Node, path []string)
		walk = func(n *doc.Node, path []string) {
			if len(path)-len(l.anc) == depth {
				if n.Field(l.key) != nil {
					found = append(found, slices.Clone(path))
				}
				return
			}
			for j := range n.Kids {
				k := &n.Kids[j]
				seg := k.Key
				if n.Kind == doc.Sequence {
					seg = strconv.Itoa(j)
				}
				walk(k, append(path, seg))
			}
		}
		walk(base, slices.Clone(l.anc))
		pick := -1
		for j, f := range found {
			id := strings.Join(f, "\x00") + "\x01" + l.key
			if used[id] {
				continue
			}
			if pick < 0 || slices.Equal(f, l.loc) {
				pick = j
			}
		}
		if pick >= 0 {
			l.loc = found[pick]
			used[strings.Join(l.loc, "\x00")+"\x01"+l.key] = true
		}
	}
}

// choice explains a failed oneOf/anyOf. A branch that failed only because
// the value has another type ("state: must be a string" when the state is
// a mapping) says nothing useful; of the others, the one with the fewest
// errors is what the user most likely meant. When every branch failed on
// the type, the wanted types are combined into one error.
func (t *translator) choice(e *jsonschema.ValidationError, out []leaf) []leaf {
	var (
		types []string
		best  []leaf
	)
	for _, c := range e.Causes {
		ls := t.leaves(c, e.InstanceLocation, nil)
		if len(ls) == 1 && slices.Equal(ls[0].loc, e.InstanceLocation) {
			switch k := ls[0].kind.(type) {
			case *kind.Type:
				types = append(types, k.Want...)
				continue
			case *kind.InvalidJsonValue:
				types = append(types, t.wantTypes(ls[0].url)...)
				continue
			}
		}
		if best == nil || len(ls) < len(best) {
			best = ls
		}
	}
	if best != nil {
		return append(out, best...)
	}
	slices.Sort(types)
	return append(out, leaf{kind: &kind.Type{Want: slices.Compact(types)}, loc: e.InstanceLocation, url: e.SchemaURL})
}

// priority orders errors at one place: a field that must not be there at
// all first, then the value's type (nothing else about a value of the
// wrong type is worth reading), then its value.
func priority(k jsonschema.ErrorKind) int {
	switch k.(type) {
	case *kind.Not, *kind.FalseSchema:
		return 0
	case *kind.Type, *kind.InvalidJsonValue:
		return 1
	case *kind.Const, *kind.Enum:
		return 2
	case *kind.Pattern, *kind.MinLength, *kind.MaxLength, *kind.Minimum, *kind.Maximum:
		return 3
	case *kind.Required:
		return 4
	}
	return 5
}

// onePerPlace keeps one leaf per place, merging the missing fields of the
// "required" errors there into one (those that share an explanation: a
// provider missing its credentials and its baseURL gets two messages).
func onePerPlace(t *translator, ls []leaf) []leaf {
	var out []leaf
	at := map[string]int{}
	for _, l := range ls {
		p := l.place()
		if _, ok := l.kind.(*kind.Required); ok {
			hint, _ := t.attr(l.url, "errorMessage").(string)
			p += "\x02" + hint
		}
		i, seen := at[p]
		if !seen {
			at[p] = len(out)
			out = append(out, l)
			continue
		}
		cur := out[i]
		if r1, ok := cur.kind.(*kind.Required); ok {
			if r2, ok := l.kind.(*kind.Required); ok {
				merged := slices.Clone(r1.Missing)
				for _, m := range r2.Missing {
					if !slices.Contains(merged, m) {
						merged = append(merged, m)
					}
				}
				out[i].kind = &kind.Required{Missing: merged}
				continue
			}
		}
		if priority(l.kind) < priority(cur.kind) {
			out[i] = l
		}
	}
	return out
}

// nodeAt returns the node at loc, or the nearest ancestor that exists.
func nodeAt(root *doc.Node, loc []string) *doc.Node {
	n := root
	for i := range loc {
		next := n.At(loc[i : i+1])
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

func (t *translator) render(l leaf, root *doc.Node, prefix []string) Violation {
	n := nodeAt(root, l.loc)
	path := make([]string, 0, len(prefix)+len(l.loc)+1)
	path = append(append(path, prefix...), l.loc...)
	shown := display(root, prefix, l.loc)
	field := t.label(shown)
	v := Violation{Path: path, Pos: n.Pos()}
	switch k := l.kind.(type) {
	case *kind.Type:
		v.Msg = t.typeMessage(field, n, k.Want, l.url)
	case *kind.InvalidJsonValue:
		v.Msg = t.invalidMessage(field, n, l.url)
	case *kind.Const:
		v.Msg = fmt.Sprintf("%s must be %s, not %s", field, jsonText(k.Want), t.describe(n))
	case *kind.Enum:
		v.Msg = fmt.Sprintf("%s must be %s, not %s", field, oneOf(k.Want), t.describe(n))
	case *kind.Pattern:
		v.Msg = t.patternMessage(field, n, l.url)
	case *kind.MinLength:
		if k.Want == 1 {
			v.Msg = fmt.Sprintf("%s must not be empty", field)
		} else {
			v.Msg = fmt.Sprintf("%s must be at least %d characters long, not %d", field, k.Want, k.Got)
		}
	case *kind.MaxLength:
		v.Msg = fmt.Sprintf("%s must be at most %d characters long, not %d", field, k.Want, k.Got)
	case *kind.Minimum:
		v.Msg = fmt.Sprintf("%s must be at least %s, not %s", field, k.Want.RatString(), t.text(n))
	case *kind.Maximum:
		v.Msg = fmt.Sprintf("%s must be at most %s, not %s", field, k.Want.RatString(), t.text(n))
	case *kind.MinItems:
		v.Pos = n.Anchor()
		if k.Want == 1 {
			v.Msg = fmt.Sprintf("%s must not be empty", field)
		} else {
			v.Msg = fmt.Sprintf("%s must have at least %d items, not %d", field, k.Want, k.Got)
		}
	case *kind.MaxItems:
		v.Pos = n.Anchor()
		v.Msg = fmt.Sprintf("%s must have at most %d items, not %d", field, k.Want, k.Got)
	case *kind.MinProperties:
		v.Pos = n.Anchor()
		if k.Want == 1 {
			v.Msg = fmt.Sprintf("%s must not be empty", field)
		} else {
			v.Msg = fmt.Sprintf("%s must have at least %d entries, not %d", field, k.Want, k.Got)
		}
	case *kind.MaxProperties:
		v.Pos = n.Anchor()
		v.Msg = fmt.Sprintf("%s must have at most %d entries, not %d; keep the rest in your own records", field, k.Want, k.Got)
	case *kind.UniqueItems:
		j := k.Duplicates[1]
		if j < len(n.Kids) {
			v.Pos = n.Kids[j].Pos()
			v.Path = append(v.Path, strconv.Itoa(j))
			v.Msg = fmt.Sprintf("%s lists %s twice; remove one", field, t.text(&n.Kids[j]))
		} else {
			v.Msg = fmt.Sprintf("%s lists an item twice; remove one", field)
		}
	case *kind.Required:
		v.Pos = n.Anchor()
		v.Msg = fmt.Sprintf("missing required %s %s %s", diag.Plural(len(k.Missing), "field", "fields"), quoteAll(k.Missing), t.in(shown, n))
		if hint, ok := t.attr(l.url, "errorMessage").(string); ok {
			v.Msg += ": " + hint
		}
	case *kind.AdditionalProperties:
		if kid := n.Field(l.key); kid != nil {
			v.Pos = kid.KeyPos()
		}
		v.Path = append(v.Path, l.key)
		v.Msg = fmt.Sprintf("unknown field %q %s", l.key, t.in(shown, n))
		if names := t.propertyNames(l.url); len(names) > 0 {
			v.Msg += fmt.Sprintf(" (expected one of: %s)", strings.Join(names, ", "))
		}
	case *kind.PropertyNames:
		if kid := n.Field(l.key); kid != nil {
			v.Pos = kid.KeyPos()
		}
		v.Path = append(v.Path, l.key)
		noun, _ := t.attr(l.url, "title").(string)
		if noun == "" {
			noun = "key"
		}
		if pem, ok := t.attr(l.url, "patternErrorMessage").(string); ok {
			v.Msg = fmt.Sprintf("%s %q %s %s", noun, l.key, t.in(shown, n), pem)
		} else {
			v.Msg = fmt.Sprintf("%s %q %s is not allowed", noun, l.key, t.in(shown, n))
		}
	case *kind.Not, *kind.FalseSchema:
		v.Pos = n.Anchor()
		if em, ok := t.attr(l.url, "errorMessage").(string); ok {
			v.Msg = fmt.Sprintf("%s %s", field, em)
		} else {
			v.Msg = fmt.Sprintf("%s is not allowed here", field)
		}
	case *kind.OneOf:
		if em, ok := t.attr(l.url, "errorMessage").(string); ok {
			v.Msg = fmt.Sprintf("%s %s", field, em)
		} else {
			v.Msg = fmt.Sprintf("%s matches more than one of its allowed forms", field)
		}
	default:
		v.Msg = fmt.Sprintf("%s: %s", field, l.kind.LocalizedString(message.NewPrinter(language.English)))
	}
	if !v.Pos.IsValid() {
		v.Pos = root.Pos()
	}
	return v
}

// in names the mapping that holds (or lacks) a field: "in recipient",
// "in payout "bob"", "at the top level".
func (t *translator) in(path []string, n *doc.Node) string {
	if len(path) == 0 {
		return "at the top level"
	}
	name := t.label(path)
	if name == "payout" {
		if id := n.Field("id"); id != nil && id.Kind == doc.String {
			return fmt.Sprintf("in payout %q", id.Text)
		}
		if i, err := strconv.Atoi(strings.Trim(path[len(path)-1], "[]")); err == nil {
			return fmt.Sprintf("in payout #%d", i+1)
		}
	}
	return "in " + name
}

func (t *translator) typeMessage(field string, n *doc.Node, want []string, url string) string {
	got := t.describe(n)
	if len(want) == 1 && want[0] == "string" && (n.Kind == doc.Number || n.Kind == doc.Bool) {
		if title, ok := t.attr(url, "title").(string); ok {
			ex := t.example(url)
			if isPlainDecimal(n.Text) && t.attr(url, "pattern") == decimalPattern {
				// The value as written is a good decimal: show it quoted.
				ex = n.Text
			}
			if ex != "" {
				return fmt.Sprintf("%s must be %s %s such as %q, not %s", field, article(title), title, ex, got)
			}
			return fmt.Sprintf("%s must be %s %s, not %s", field, article(title), title, got)
		}
		if len(n.Text) > 1 && n.Text[0] == '0' && allDigits(n.Text) {
			return fmt.Sprintf("%s must be a string; quote it to keep the leading zero: %q", field, n.Text)
		}
		return fmt.Sprintf("%s must be a string; quote it: %q", field, n.Text)
	}
	if n.Kind == doc.String && wantsNumber(want) && jsonnum.Valid(n.Text) {
		return fmt.Sprintf("%s must be %s, not %s; remove the quotes", field, t.typeWords(want), got)
	}
	if n.Kind == doc.Null {
		return fmt.Sprintf("%s must be %s, but it is %s", field, t.typeWords(want), got)
	}
	return fmt.Sprintf("%s must be %s, not %s", field, t.typeWords(want), got)
}

// invalidMessage explains a YAML number the validator cannot take (0x1F,
// 1_000, 012345) in terms of what the schema wanted there.
func (t *translator) invalidMessage(field string, n *doc.Node, url string) string {
	if want := t.wantTypes(url); len(want) > 0 {
		if wantsNumber(want) {
			return fmt.Sprintf("%s must be a plain decimal number such as 4, not %s", field, t.describe(n))
		}
		return t.typeMessage(field, n, want, url)
	}
	if e, ok := t.attr(url, "enum").([]any); ok {
		return fmt.Sprintf("%s must be %s, not %s", field, oneOf(e), t.describe(n))
	}
	if c := t.attr(url, "const"); c != nil {
		return fmt.Sprintf("%s must be %s, not %s", field, jsonText(c), t.describe(n))
	}
	return fmt.Sprintf("%s cannot be %s", field, t.describe(n))
}

func (t *translator) patternMessage(field string, n *doc.Node, url string) string {
	if t.attr(url, "pattern") == decimalPattern && strings.HasPrefix(n.Text, "-") {
		return fmt.Sprintf("%s %q must not be negative", field, n.Text)
	}
	if pem, ok := t.attr(url, "patternErrorMessage").(string); ok {
		return fmt.Sprintf("%s %q %s", field, n.Text, pem)
	}
	p, _ := t.attr(url, "pattern").(string)
	return fmt.Sprintf("%s %q does not match %s", field, n.Text, p)
}

// decimalPattern is the schemas' pattern for amounts; an amount written
// as a number gets a message showing it quoted.
const decimalPattern = `^(0|[1-9][0-9]*)(\.[0-9]+)?$`

func (t *translator) example(url string) string {
	if ex, ok := t.attr(url, "examples").([]any); ok && len(ex) > 0 {
		if s, ok := ex[0].(string); ok {
			return s
		}
	}
	return ""
}

func (t *translator) wantTypes(url string) []string {
	switch v := t.attr(url, "type").(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func wantsNumber(want []string) bool {
	return slices.Contains(want, "integer") || slices.Contains(want, "number")
}

func (t *translator) typeWords(want []string) string {
	words := make([]string, 0, len(want))
	for _, w := range want {
		switch w {
		case "string":
			w = "a string"
		case "integer":
			w = "a whole number"
		case "number":
			w = "a number"
		case "boolean":
			w = "true or false"
		case "object":
			w = t.mappingWord()
		case "array":
			w = t.listWord()
		}
		words = append(words, w)
	}
	return joinOr(words)
}

func (t *translator) mappingWord() string {
	if t.format == doc.JSON {
		return "an object"
	}
	return "a mapping"
}

func (t *translator) listWord() string {
	if t.format == doc.JSON {
		return "an array"
	}
	return "a list"
}

// describe says what a node is, for "..., not <describe>".
func (t *translator) describe(n *doc.Node) string {
	switch n.Kind {
	case doc.String:
		return "the string " + strconv.Quote(clip(n.Text))
	case doc.Number:
		return "the number " + n.Text
	case doc.Bool:
		return n.Text
	case doc.Null:
		if n.Text == "" {
			return "empty"
		}
		return n.Text
	case doc.Mapping:
		return t.mappingWord()
	case doc.Sequence:
		return t.listWord()
	}
	return "missing"
}

// text is a scalar as a user would write it.
func (t *translator) text(n *doc.Node) string {
	if n.Kind == doc.String {
		return strconv.Quote(clip(n.Text))
	}
	if n.IsScalar() {
		return n.Text
	}
	return t.describe(n)
}

func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}

func (t *translator) propertyNames(url string) []string {
	props, ok := t.attr(url, "properties").(map[string]any)
	if !ok {
		return nil
	}
	names := make([]string, 0, len(props))
	for k := range props {
		if !strings.HasPrefix(k, "$") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// attr reads an annotation of the schema at url, following local $refs
// when the schema there does not have it itself.
func (t *translator) attr(url, name string) any {
	base, frag, _ := strings.Cut(url, "#")
	for range 8 {
		m, ok := t.resolve(base, frag).(map[string]any)
		if !ok {
			return nil
		}
		if v, ok := m[name]; ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			return nil
		}
		frag = ref[1:]
	}
	return nil
}

// resolve follows a JSON pointer fragment in the raw schema document.
func (t *translator) resolve(base, frag string) any {
	v := t.c.raw[base]
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	if frag == "" {
		return v
	}
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func oneOf(vals []any) string {
	words := make([]string, len(vals))
	for i, v := range vals {
		words[i] = jsonText(v)
	}
	if len(words) > 2 {
		return "one of " + joinOr(words)
	}
	return joinOr(words)
}

func joinOr(words []string) string {
	switch len(words) {
	case 0:
		return "something else"
	case 1:
		return words[0]
	case 2:
		return words[0] + " or " + words[1]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiouAEIOU", rune(noun[0])) && !strings.HasPrefix(noun, "URL") {
		return "an"
	}
	return "a"
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isPlainDecimal(s string) bool {
	in, frac, point := strings.Cut(s, ".")
	if !allDigits(in) || (point && !allDigits(frac)) {
		return false
	}
	return len(in) == 1 || in[0] != '0'
}
