package doc

import "github.com/payctl/payctl/internal/diag"

// Readers of other shapes of input (the rows of a CSV file or a sheet)
// build the same tree a manifest decodes into, so that every check of a
// manifest applies to them unchanged and positions its errors at their
// cells. These constructors are for them.

// StringNode is a string value: key is its key in a mapping (or ""), pos
// where the value is, keyPos where its key is (the zero Pos for none).
func StringNode(key, text string, pos, keyPos diag.Pos) Node {
	return Node{Kind: String, Key: key, Text: text,
		line: int32(pos.Line), col: int32(pos.Col), keyLine: int32(keyPos.Line), keyCol: int32(keyPos.Col)}
}

// MappingNode is a mapping of kids, each carrying its Key.
func MappingNode(key string, kids []Node, pos, keyPos diag.Pos) Node {
	return Node{Kind: Mapping, Key: key, Kids: kids,
		line: int32(pos.Line), col: int32(pos.Col), keyLine: int32(keyPos.Line), keyCol: int32(keyPos.Col)}
}

// SequenceNode is a sequence of kids.
func SequenceNode(key string, kids []Node, pos, keyPos diag.Pos) Node {
	return Node{Kind: Sequence, Key: key, Kids: kids,
		line: int32(pos.Line), col: int32(pos.Col), keyLine: int32(keyPos.Line), keyCol: int32(keyPos.Col)}
}

// TextCheck refuses the strings and keys of nodes that hold a
// character safetext refuses, as decoding a document does: one error per
// string, at its position. One TextCheck serves every item of a file.
type TextCheck struct {
	tc   textChecker
	path []step
}

// NewTextCheck returns a TextCheck whose errors name file.
func NewTextCheck(file string) *TextCheck {
	return &TextCheck{tc: textChecker{file: file}, path: make([]step, 0, MaxDepth+1)}
}

// Check returns the errors of n. item is n's index when n is an item of
// a sequence, which the messages then leave out (the position says which
// item), or -1. The list is valid until the next call.
func (c *TextCheck) Check(n *Node, item int) diag.List {
	c.tc.errs = c.tc.errs[:0]
	path := c.path[:0]
	if item >= 0 {
		path = append(path, step{key: "items", index: -1}, step{index: item})
	}
	c.tc.walk(n, path)
	return c.tc.errs
}

// CheckText is a TextCheck of one node.
func CheckText(file string, n *Node, item int) diag.List {
	return NewTextCheck(file).Check(n, item)
}
