package schema

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/jsonnum"
)

// toAny converts a tree into the values the validator takes
// (map[string]any, []any, string, json.Number, bool, nil).
//
// A number keeps its text as a json.Number. A YAML number that is not
// spelled as a JSON number (0x1F, 1_000, 012345, .inf) becomes NaN, which
// the validator reports as an invalid value at that place; the message
// then reads the schema to say what was wanted. It is never turned into a
// different number.
func toAny(n *doc.Node) any {
	var cv converter
	return cv.value(n)
}

// shellAny converts root for the shell schema: the payouts sequence keeps
// its length (minItems still applies) but its items are not converted.
func shellAny(root, payouts *doc.Node) any {
	cv := converter{skip: payouts}
	return cv.value(root)
}

// converter reuses maps and slices between calls when release is called,
// so validating a hundred thousand payouts one by one does not allocate
// a hundred thousand maps twice over.
type converter struct {
	skip *doc.Node
	// skipLen, when set, is the length of skip, whose items were handed
	// over one by one and are not in the tree.
	skipLen int

	maps    []map[string]any
	nextMap int
	slices  [][]any
	nextSl  int
}

func newConverter() *converter { return &converter{} }

// release makes the maps and slices handed out so far reusable. Values
// returned before must not be used after.
func (c *converter) release() { c.nextMap, c.nextSl = 0, 0 }

func (c *converter) newMap(n int) map[string]any {
	if c.nextMap < len(c.maps) {
		m := c.maps[c.nextMap]
		clear(m)
		c.nextMap++
		return m
	}
	m := make(map[string]any, n)
	c.maps = append(c.maps, m)
	c.nextMap++
	return m
}

func (c *converter) newSlice(n int) []any {
	if c.nextSl < len(c.slices) && cap(c.slices[c.nextSl]) >= n {
		s := c.slices[c.nextSl][:n]
		c.nextSl++
		return s
	}
	s := make([]any, n)
	if c.nextSl < len(c.slices) {
		c.slices[c.nextSl] = s
	} else {
		c.slices = append(c.slices, s)
	}
	c.nextSl++
	return s
}

func (c *converter) value(n *doc.Node) any {
	switch n.Kind {
	case doc.Mapping:
		m := c.newMap(len(n.Kids))
		for i := range n.Kids {
			k := &n.Kids[i]
			m[k.Key] = c.value(k)
		}
		return m
	case doc.Sequence:
		if n == c.skip {
			s := c.newSlice(max(len(n.Kids), c.skipLen))
			clear(s)
			return s
		}
		s := c.newSlice(len(n.Kids))
		for i := range n.Kids {
			s[i] = c.value(&n.Kids[i])
		}
		return s
	case doc.String:
		return n.Text
	case doc.Number:
		if jsonnum.Valid(n.Text) {
			return json.Number(n.Text)
		}
		return math.NaN()
	case doc.Bool:
		return strings.EqualFold(n.Text, "true")
	}
	return nil
}
