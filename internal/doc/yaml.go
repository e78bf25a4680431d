package doc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/payctl/payctl/internal/diag"
	"go.yaml.in/yaml/v3"
)

// decodeYAML parses with yaml.v3's Node API, which keeps lines and columns
// and leaves scalars as text, then converts to the tree while rejecting
// what payctl does not accept. Structural errors (anchors, tags, keys) are
// all collected; a syntax error stops the parse, since yaml.v3 stops too.
func decodeYAML(file string, data []byte) (root *Node, errs diag.List) {
	c := &yamlConv{file: file, data: data}
	defer func() {
		// yaml.v3 has panicked on hostile input before; a panic in a
		// decoder must not take the whole command down with a stack
		// trace instead of an error.
		if r := recover(); r != nil {
			root = nil
			errs = diag.List{diag.Errorf(file, diag.Pos{Line: 1, Col: 1}, "invalid YAML: the parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var d yaml.Node
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, diag.List{diag.Errorf(file, diag.Pos{Line: 1, Col: 1}, "file is empty")}
		}
		return nil, diag.List{c.syntaxError(err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		c.errs.Add(file, diag.Pos{Line: extra.Line, Col: extra.Column}, "a second YAML document starts here; a file holds exactly one")
	case !errors.Is(err, io.EOF):
		c.errs = append(c.errs, c.syntaxError(err))
	}
	if len(d.Content) != 1 || (d.Content[0].Kind == yaml.ScalarNode && d.Content[0].ShortTag() == "!!null" && d.Content[0].Style&yaml.TaggedStyle == 0) {
		c.errs.Add(file, diag.Pos{Line: 1, Col: 1}, "file is empty")
		return nil, c.errs
	}
	root = new(Node)
	c.convert(d.Content[0], root, 0)
	return root, c.errs
}

type yamlConv struct {
	file string
	data []byte
	// lineStarts are byte offsets of line starts, built on first use to
	// find the "- " of sequence items.
	lineStarts []int
	errs       diag.List
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the problems yaml.v3's parser (as opposed to its
// scanner) reports. For these yaml.v3 prints a 0-based line: the line
// where the enclosing construct (an unclosed "[", a block mapping) starts,
// or the problem's own line when that construct starts on the first line.
var yamlParserProblems = []string{
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found duplicate %TAG directive",
	"found incompatible YAML document",
}

// syntaxError turns a yaml.v3 error into a positioned one. yaml.v3 reports
// only a line, never a column, so the column is 1. An error without a
// line is one yaml.v3 found on the first line (it omits line 0).
func (c *yamlConv) syntaxError(err error) *diag.Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		for _, p := range yamlParserProblems {
			if strings.HasPrefix(m[2], p) {
				line++
				break
			}
		}
		// An error at the end of the stream can be placed on the line
		// after the last one; point at the last line instead.
		last := bytes.Count(c.data, []byte{'\n'})
		if len(c.data) > 0 && c.data[len(c.data)-1] != '\n' {
			last++
		}
		line = max(1, min(line, last))
		return diag.Errorf(c.file, diag.Pos{Line: line, Col: 1}, "invalid YAML: %s", m[2])
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if strings.Contains(msg, "control characters") {
		if off := firstControl(c.data); off >= 0 {
			return diag.Errorf(c.file, PosAt(c.data, off), "control character %U is not allowed in YAML", rune(c.data[off]))
		}
	}
	return diag.Errorf(c.file, diag.Pos{Line: 1, Col: 1}, "invalid YAML: %s", msg)
}

func firstControl(data []byte) int {
	for i, b := range data {
		if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f {
			return i
		}
	}
	return -1
}

func (c *yamlConv) pos(n *yaml.Node) diag.Pos { return diag.Pos{Line: n.Line, Col: n.Column} }

// The tags a file may spell out; they only restate what the value is.
// Anything else (!!binary, !!set, !custom) is refused.
var plainTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true,
	"!!null": true, "!!map": true, "!!seq": true,
}

func (c *yamlConv) convert(y *yaml.Node, n *Node, depth int) {
	n.line, n.col = int32(y.Line), int32(y.Column)
	if depth > MaxDepth {
		c.errs.Add(c.file, c.pos(y), "%s", tooDeep())
		n.Kind = Null
		return
	}
	if y.Anchor != "" {
		c.errs.Add(c.file, c.pos(y), "YAML anchors (&%s) are not allowed; write the value out in full", y.Anchor)
	}
	if y.Style&yaml.TaggedStyle != 0 && !plainTags[y.ShortTag()] {
		c.errs.Add(c.file, c.pos(y), "YAML tag %s is not allowed; remove it", y.Tag)
	}
	switch y.Kind {
	case yaml.AliasNode:
		c.errs.Add(c.file, c.pos(y), "YAML aliases (*%s) are not allowed; write the value out in full", y.Value)
		n.Kind = Null
	case yaml.ScalarNode:
		n.Text = y.Value
		switch y.ShortTag() {
		case "!!int", "!!float":
			n.Kind = Number
		case "!!bool":
			n.Kind = Bool
		case "!!null":
			n.Kind = Null
		default:
			// Strings, and what YAML 1.1 would call a timestamp: payctl
			// has no timestamps, so "2025-01-31" is its text.
			n.Kind = String
		}
	case yaml.SequenceNode:
		n.Kind = Sequence
		if len(y.Content) > 0 {
			n.Kids = make([]Node, len(y.Content))
		}
		for i, item := range y.Content {
			c.convert(item, &n.Kids[i], depth+1)
			if y.Style&yaml.FlowStyle == 0 {
				if p, ok := c.dashBefore(item); ok {
					n.Kids[i].line, n.Kids[i].col = int32(p.Line), int32(p.Col)
				}
			}
			// yaml.v3's nodes are several times the size of ours; letting
			// each converted item go keeps a large file from holding both
			// trees whole at once.
			y.Content[i] = nil
		}
	case yaml.MappingNode:
		n.Kind = Mapping
		c.mapping(y, n, depth)
	default:
		c.errs.Add(c.file, c.pos(y), "unsupported YAML node")
		n.Kind = Null
	}
}

func (c *yamlConv) mapping(y *yaml.Node, n *Node, depth int) {
	pairs := len(y.Content) / 2
	if pairs > 0 {
		n.Kids = make([]Node, 0, pairs)
	}
	var seen map[string]diag.Pos
	if pairs > 16 {
		seen = make(map[string]diag.Pos, pairs)
	}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		kp := c.pos(k)
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			c.errs.Add(c.file, kp, "YAML merge keys (<<) are not allowed; write the fields out in full")
			continue
		}
		if k.Anchor != "" {
			c.errs.Add(c.file, kp, "YAML anchors (&%s) are not allowed; write the value out in full", k.Anchor)
		}
		if k.Kind != yaml.ScalarNode || !isStringKey(k) {
			c.errs.Add(c.file, kp, "%s", nonStringKey(k))
			continue
		}
		var first diag.Pos
		if seen != nil {
			first = seen[k.Value]
		} else {
			for j := range n.Kids {
				if n.Kids[j].Key == k.Value {
					first = n.Kids[j].KeyPos()
					break
				}
			}
		}
		if first.IsValid() {
			c.errs.Add(c.file, kp, "duplicate key %q; first at line %d, column %d", k.Value, first.Line, first.Col)
			continue
		}
		if seen != nil {
			seen[k.Value] = kp
		}
		n.Kids = append(n.Kids, Node{})
		kid := &n.Kids[len(n.Kids)-1]
		c.convert(v, kid, depth+1)
		kid.Key, kid.keyLine, kid.keyCol = k.Value, int32(k.Line), int32(k.Column)
	}
}

func isStringKey(k *yaml.Node) bool {
	if k.Style&yaml.TaggedStyle != 0 && k.ShortTag() != "!!str" {
		return false
	}
	switch k.ShortTag() {
	case "!!str", "!!timestamp":
		return true
	}
	return false
}

func nonStringKey(k *yaml.Node) string {
	switch k.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return "keys must be plain strings, not a mapping or list"
	case yaml.AliasNode:
		return fmt.Sprintf("YAML aliases (*%s) are not allowed as keys", k.Value)
	}
	switch k.ShortTag() {
	case "!!int", "!!float":
		return fmt.Sprintf("key %s is a number; keys must be strings (quote it: \"%s\")", k.Value, k.Value)
	case "!!bool":
		return fmt.Sprintf("key %s is a boolean; keys must be strings (quote it: \"%s\")", k.Value, k.Value)
	case "!!null":
		if k.Value == "" {
			return "empty key; keys must be strings"
		}
		return fmt.Sprintf("key %s is null; keys must be strings (quote it: \"%s\")", k.Value, k.Value)
	}
	return fmt.Sprintf("key %q has tag %s; keys must be plain strings", k.Value, k.Tag)
}

// dashBefore finds the "- " that introduces a block sequence item, which
// yaml.v3 does not record: it is the nearest non-blank character before
// the item on the item's line.
func (c *yamlConv) dashBefore(item *yaml.Node) (diag.Pos, bool) {
	if c.lineStarts == nil {
		c.lineStarts = append(make([]int, 0, bytes.Count(c.data, []byte{'\n'})+1), 0)
		for i, b := range c.data {
			if b == '\n' {
				c.lineStarts = append(c.lineStarts, i+1)
			}
		}
	}
	if item.Line < 1 || item.Line > len(c.lineStarts) {
		return diag.Pos{}, false
	}
	start := c.lineStarts[item.Line-1]
	// Byte offset of the item's column (columns count runes).
	off, col := start, 1
	for off < len(c.data) && col < item.Column && c.data[off] != '\n' {
		off++
		for off < len(c.data) && c.data[off]&0xC0 == 0x80 {
			off++
		}
		col++
	}
	for i := off - 1; i >= start; i-- {
		switch c.data[i] {
		case ' ', '\t':
			continue
		case '-':
			// The dash's column: runes from the line start.
			dc := 1
			for j := start; j < i; j++ {
				if c.data[j]&0xC0 != 0x80 {
					dc++
				}
			}
			return diag.Pos{Line: item.Line, Col: dc}, true
		}
		return diag.Pos{}, false
	}
	return diag.Pos{}, false
}
