package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The schemas' identifiers; editors and `$schema` references may use them.
const (
	ManifestID = "https://payctl.dev/schema/payout-batch.schema.json"
	ConfigID   = "https://payctl.dev/schema/config.schema.json"

	// shellID names the internal variant of the manifest schema whose
	// $refs are inlined and whose payouts items are not checked (each is
	// checked on its own against its #/$defs/payout).
	shellID = "https://payctl.dev/schema/internal/payout-batch-shell.schema.json"
)

var (
	//go:embed payout-batch.schema.json
	manifestSchema []byte
	//go:embed config.schema.json
	configSchema []byte
)

// Manifest returns the manifest schema as published.
func Manifest() []byte { return bytes.Clone(manifestSchema) }

// Config returns the payctl.yaml schema as published.
func Config() []byte { return bytes.Clone(configSchema) }

// Violation is one way a document breaks its schema.
type Violation struct {
	// Path is the instance location: mapping keys and sequence indexes.
	// For an unknown or misnamed key it ends with the key.
	Path []string
	Pos  diag.Pos
	Msg  string
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// Pointer is Path as a JSON pointer (RFC 6901).
func (v Violation) Pointer() string {
	var b strings.Builder
	for _, p := range v.Path {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(p))
	}
	return b.String()
}

// Errors turns violations into positioned diagnostics for file.
func Errors(file string, vs []Violation) diag.List {
	l := make(diag.List, 0, len(vs))
	for _, v := range vs {
		e := &diag.Error{File: file, Pos: v.Pos, Msg: v.Msg}
		if !v.Pos.IsValid() {
			e.Pointer = v.Pointer()
		}
		l = append(l, e)
	}
	return l
}

type compiled struct {
	manifest, shell, payout, config *jsonschema.Schema
	// payoutCheck is payout compiled into Go: what each payout of a
	// manifest is checked with.
	payoutCheck *checker
	// raw holds the schema documents as decoded JSON, by base URL, for
	// reading annotations at the locations errors point to.
	raw map[string]any
}

// load compiles the embedded schemas once. A schema that does not compile
// is a bug in this package, caught by its tests, so it panics.
var load = sync.OnceValue(func() *compiled {
	c, err := compile()
	if err != nil {
		panic(fmt.Sprintf("schema: embedded schemas do not compile: %v", err))
	}
	return c
})

func compile() (*compiled, error) {
	man, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifestSchema))
	if err != nil {
		return nil, err
	}
	cfg, err := jsonschema.UnmarshalJSON(bytes.NewReader(configSchema))
	if err != nil {
		return nil, err
	}
	shell, err := shellOf()
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for id, d := range map[string]any{ManifestID: man, shellID: shell, ConfigID: cfg} {
		if err := c.AddResource(id, d); err != nil {
			return nil, err
		}
	}
	out := &compiled{raw: map[string]any{ManifestID: man, shellID: shell, ConfigID: cfg}}
	for _, s := range []struct {
		dst **jsonschema.Schema
		url string
	}{
		{&out.manifest, ManifestID},
		{&out.shell, shellID},
		{&out.payout, shellID + "#/$defs/payout"},
		{&out.config, ConfigID},
	} {
		if *s.dst, err = c.Compile(s.url); err != nil {
			return nil, err
		}
	}
	if out.payoutCheck, err = compileChecker(out.payout); err != nil {
		return nil, err
	}
	return out, nil
}

// shellOf copies the manifest schema without spec.payouts.items, with its
// references inlined and its own $id, so the batch can be validated
// without its payouts and each payout against its $defs/payout.
func shellOf() (any, error) {
	// Decoding the embedded bytes again is a deep copy for free.
	cp, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifestSchema))
	if err != nil {
		return nil, err
	}
	root := cp.(map[string]any)
	root["$id"] = shellID
	payouts, ok := dig(root, "$defs", "spec", "properties", "payouts").(map[string]any)
	if !ok {
		return nil, fmt.Errorf("manifest schema has no $defs/spec/properties/payouts")
	}
	if _, ok := payouts["items"]; !ok {
		return nil, fmt.Errorf("manifest schema's payouts have no items")
	}
	// No items keyword at all, rather than "items: true": the validator
	// would still visit every item to apply a schema that accepts it.
	delete(payouts, "items")
	inlineRefs(root)
	return cp, nil
}

// annotations are keywords that do not affect validation; a $ref's
// sibling may override them when the reference is inlined.
var annotations = map[string]bool{
	"description": true, "title": true, "examples": true, "$comment": true,
	"patternErrorMessage": true, "errorMessage": true,
}

// inlineRefs replaces local "#/$defs/..." references by a copy of what
// they name. A payout is validated a hundred thousand times, and every
// $ref costs the validator a nested scope and an error wrapper; the
// inlined schema is the same check. A reference whose siblings restate a
// validation keyword of its target is left alone, since inlining would
// drop one of the two.
func inlineRefs(root map[string]any) {
	defs, _ := root["$defs"].(map[string]any)
	var walk func(v any, depth int) any
	walk = func(v any, depth int) any {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && strings.HasPrefix(ref, "#/$defs/") && depth < 32 {
				if def, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any); ok && !strings.Contains(ref[len("#/$defs/"):], "/") {
					merged := deepCopy(def).(map[string]any)
					clash := false
					for k, sv := range x {
						if k == "$ref" {
							continue
						}
						if _, both := merged[k]; both && !annotations[k] {
							clash = true
						}
						merged[k] = sv
					}
					if !clash {
						x = merged
					}
				}
			}
			for k, sv := range x {
				x[k] = walk(sv, depth+1)
			}
			return x
		case []any:
			for i, sv := range x {
				x[i] = walk(sv, depth+1)
			}
			return x
		}
		return v
	}
	walk(root, 0)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, sv := range x {
			m[k] = deepCopy(sv)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, sv := range x {
			a[i] = deepCopy(sv)
		}
		return a
	}
	return v
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// ValidateManifest checks a decoded manifest against the manifest schema.
// Violations are sorted by position.
//
// The batch around the payouts is checked by the JSON Schema validator;
// each payout by the schema's #/$defs/payout compiled into Go (see
// checker), which gives the same violations at a fraction of the cost.
func ValidateManifest(root *doc.Node, f doc.Format) []Violation {
	c := load()
	t := &translator{c: c, format: f, label: manifestLabel}
	payouts := root.At([]string{"spec", "payouts"})
	if payouts != nil && payouts.Kind != doc.Sequence {
		payouts = nil
	}
	vs := t.validate(c.shell, shellAny(root, payouts), root)
	if payouts != nil {
		prefix := []string{"spec", "payouts"}
		loc := make([]string, 0, 4)
		for i := range payouts.Kids {
			vs = append(vs, t.payout(c.payoutCheck, &payouts.Kids[i], i, prefix, loc)...)
		}
	}
	sortViolations(vs)
	return vs
}

// validateShell checks a manifest whose payouts were handed over one by
// one (see Parse): the batch against the shell schema, with a payouts
// sequence of n items.
func validateShell(t *translator, root *doc.Node, n int) []Violation {
	payouts := root.At(payoutsPath)
	if payouts == nil || payouts.Kind != doc.Sequence {
		payouts = nil
		n = 0
	}
	cv := converter{skip: payouts, skipLen: n}
	return t.validate(t.c.shell, cv.value(root), root)
}

// validateManifestGeneric is ValidateManifest with every payout walked by
// the JSON Schema validator: the reference the compiled checks are
// tested against.
func validateManifestGeneric(root *doc.Node, f doc.Format) []Violation {
	c := load()
	t := &translator{c: c, format: f, label: manifestLabel}
	payouts := root.At([]string{"spec", "payouts"})
	if payouts != nil && payouts.Kind != doc.Sequence {
		payouts = nil
	}
	vs := t.validate(c.shell, shellAny(root, payouts), root)
	if payouts != nil {
		vs = append(vs, t.items(c.payout, payouts, []string{"spec", "payouts"})...)
	}
	sortViolations(vs)
	return vs
}

// validateManifestWhole checks against the full schema in one piece; tests
// use it to show the split validation is the same check.
func validateManifestWhole(root *doc.Node, f doc.Format) []Violation {
	c := load()
	t := &translator{c: c, format: f, label: manifestLabel}
	vs := t.validate(c.manifest, toAny(root), root)
	sortViolations(vs)
	return vs
}

// ValidateConfig checks a decoded payctl.yaml against the config schema.
// Violations are sorted by position.
func ValidateConfig(root *doc.Node, f doc.Format) []Violation {
	c := load()
	t := &translator{c: c, format: f, label: configLabel}
	vs := t.validate(c.config, toAny(root), root)
	sortViolations(vs)
	return vs
}

// chunk is how many payouts a worker takes at a time: large enough that
// handing out work costs nothing, small enough to balance two cores.
const chunk = 512

// items validates each item of seq against s, in parallel when there are
// enough of them to be worth it. prefix is seq's path.
func (t *translator) items(s *jsonschema.Schema, seq *doc.Node, prefix []string) []Violation {
	n := len(seq.Kids)
	workers := min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk)
	if workers <= 1 {
		var vs []Violation
		cv := newConverter()
		for i := range seq.Kids {
			vs = append(vs, t.item(s, seq, i, prefix, cv)...)
		}
		return vs
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		results = make([][]Violation, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cv := newConverter()
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					results[w] = append(results[w], t.item(s, seq, i, prefix, cv)...)
				}
			}
		}()
	}
	wg.Wait()
	return slices.Concat(results...)
}

func (t *translator) item(s *jsonschema.Schema, seq *doc.Node, i int, prefix []string, cv *converter) []Violation {
	n := &seq.Kids[i]
	err := s.Validate(cv.value(n))
	// The converted value is reused for the next item; the translation
	// below reads the tree, never the converted value.
	cv.release()
	if err == nil {
		return nil
	}
	p := make([]string, len(prefix)+1)
	copy(p, prefix)
	p[len(prefix)] = strconv.Itoa(i)
	return t.validationErrors(err, n, p)
}

func (t *translator) validate(s *jsonschema.Schema, v any, root *doc.Node) []Violation {
	err := s.Validate(v)
	if err == nil {
		return nil
	}
	return t.validationErrors(err, root, nil)
}

func sortViolations(vs []Violation) {
	slices.SortStableFunc(vs, func(a, b Violation) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col - b.Pos.Col
		}
		return strings.Compare(a.Msg, b.Msg)
	})
}
