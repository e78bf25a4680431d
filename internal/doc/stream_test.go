package doc

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// deepCopy copies n and its children out of memory the decoder reuses.
func deepCopy(n *Node) Node {
	c := *n
	if n.Kids != nil {
		c.Kids = make([]Node, len(n.Kids))
		for i := range n.Kids {
			c.Kids[i] = deepCopy(&n.Kids[i])
		}
	}
	return c
}

// sameAsDecode requires DecodeStream to hand over exactly the items that
// Decode keeps in its tree at path, to leave the rest of the tree as
// Decode does, and to report the same errors.
func sameAsDecode(t *testing.T, file, src string, path []string) {
	t.Helper()
	whole, _, werrs := DecodeFile(file, []byte(src), 1<<20, "")
	var items []Node
	next := 0
	s := &Stream{Path: path, Item: func(i int, n *Node) {
		if i != next {
			t.Errorf("%s: item %d handed over after %d", file, i, next-1)
		}
		next++
		items = append(items, deepCopy(n))
	}}
	got, _, gerrs := DecodeStream(file, bytes.Clone([]byte(src)), 1<<20, "", s)
	if !reflect.DeepEqual(gerrs, werrs) {
		t.Fatalf("%s: errors\nstream: %v\nwhole:  %v", file, gerrs, werrs)
	}
	if werrs != nil {
		return
	}
	var want []Node
	if seq := whole.At(path); seq != nil && seq.Kind == Sequence && pathOfKeys(whole, path) {
		want = seq.Kids
		seq.Kids = nil
	}
	if !reflect.DeepEqual(items, want) {
		t.Errorf("%s: items\nstream: %d\nwhole:  %d", file, len(items), len(want))
	}
	if dump(got) != dump(whole) {
		t.Errorf("%s: trees differ\nstream:\n%s\nwhole:\n%s", file, dump(got), dump(whole))
	}
}

func TestDecodeStreamIsDecode(t *testing.T) {
	path := []string{"spec", "payouts"}
	item := `{"id": "a", "r": {"n": "x", "l": [1, {"k": "v"}]}, "e": {}, "z": []}`
	for name, src := range map[string]string{
		"plain.json":     `{"a": 1, "spec": {"b": [1], "payouts": [` + item + `, 2, "s", [3, [4]], null], "c": {"payouts": [5]}}, "d": "e"}`,
		"empty.json":     `{"spec": {"payouts": []}}`,
		"mapping.json":   `{"spec": {"payouts": {"a": [1]}}}`,
		"nested.json":    `[{"spec": {"payouts": [1, 2]}}]`,
		"top.json":       `{"payouts": [1], "x": {"spec": {"payouts": [2]}}}`,
		"text.json":      `{"spec": {"payouts": [{"n": "a\u202eb"}, {"k\u200b": 1}, "\u0007"]}, "h": "\u200b"}`,
		"dup.json":       `{"spec": {"payouts": [{"a": 1, "a": 2}]}}`,
		"late.json":      `{"spec": {"payouts": [1, 2]}} x`,
		"unclosed.json":  `{"spec": {"payouts": [1, {"a": `,
		"plain.yaml":     "a: 1\nspec:\n  payouts:\n    - id: a\n      r: {n: x, l: [1, {k: v}]}\n    - 2\n  c: {payouts: [5]}\n",
		"text.yaml":      "spec:\n  payouts:\n    - \"a\\u202eb\"\n",
		"mapping.yaml":   "spec:\n  payouts: {a: 1}\n",
		"many-text.json": `{"spec": {"payouts": [` + strings.Repeat(`"\u200b", `, 150) + `"ok"]}, "z": "\u200b"}`,
	} {
		sameAsDecode(t, name, src, path)
	}
}

func FuzzDecodeStream(f *testing.F) {
	f.Add([]byte(`{"spec": {"payouts": [{"id": "a"}, 2]}}`), true)
	f.Add([]byte("spec:\n  payouts:\n    - id: a\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		file := "fuzz.yaml"
		if isJSON {
			file = "fuzz.json"
		}
		sameAsDecode(t, file, string(data), []string{"spec", "payouts"})
	})
}
