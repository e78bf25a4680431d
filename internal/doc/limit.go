package doc

import (
	"fmt"

	"github.com/payctl/payctl/internal/diag"
)

// MaxNodes bounds the keys and values of one file, counted together. A
// payout with every optional field is about twenty of them, so the bound
// holds a batch of 100,000 payouts with room to spare, while a file of
// nothing but tiny values ("[1,1,1,…]", two bytes each) is refused long
// before its tree would take gigabytes: a decoded node costs about a
// hundred bytes here and several hundred inside yaml.v3.
const MaxNodes = 2_000_000

func tooManyNodes() string {
	return fmt.Sprintf("the file holds more than %s keys and values, the limit for one file (about 100,000 payouts); split the batch into several files", thousands(MaxNodes))
}

func tooDeep() string {
	return fmt.Sprintf("nesting is deeper than %d levels", MaxDepth)
}

// preScanYAML counts the nodes of a YAML file and its flow nesting before
// yaml.v3 sees it: yaml.v3 builds its whole tree first, so this is the
// only place where a hostile file can be refused cheaply. The count is a
// close upper bound: every scalar (keys included), every "[" and "{",
// every block sequence or complex-key indicator; comments and quoted text
// are skipped. It returns the count, or an error at the first node beyond
// MaxNodes or the first level beyond MaxDepth.
//
// Nesting by indentation needs quadratic bytes and stays small; nesting on
// one line ("- - - -", "[[[[") is counted here.
func preScanYAML(file string, data []byte) (int, *diag.Error) {
	var (
		nodes, flow, lineDepth int
		line, lineStart        = 1, 0
		expect                 = true // the next token starts a node
		n                      = len(data)
	)
	fail := func(off int, msg string) *diag.Error {
		col := 1
		for i := lineStart; i < off; i++ {
			if data[i]&0xC0 != 0x80 {
				col++
			}
		}
		return diag.Errorf(file, diag.Pos{Line: line, Col: col}, "%s", msg)
	}
	count := func(off int) *diag.Error {
		nodes++
		if nodes > MaxNodes {
			return fail(off, tooManyNodes())
		}
		return nil
	}
	space := func(i int) bool {
		return i >= n || data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'
	}
	for i := 0; i < n; {
		c := data[i]
		switch {
		case c == '\n':
			i++
			line, lineStart, lineDepth, expect = line+1, i, 0, true
			continue
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case c == '#' && (i == 0 || space(i-1)):
			for i < n && data[i] != '\n' {
				i++
			}
			continue
		case c == '[' || c == '{':
			if e := count(i); e != nil {
				return 0, e
			}
			flow++
			if flow+lineDepth > MaxDepth {
				return 0, fail(i, tooDeep())
			}
			i++
			expect = true
			continue
		case (c == ']' || c == '}') && flow > 0:
			flow--
			i++
			expect = false
			continue
		case c == ',' && flow > 0:
			i++
			expect = true
			continue
		case (c == '-' || c == '?') && space(i+1):
			if e := count(i); e != nil {
				return 0, e
			}
			lineDepth++
			if flow+lineDepth > MaxDepth {
				return 0, fail(i, tooDeep())
			}
			i++
			expect = true
			continue
		case c == ':' && (space(i+1) || flow > 0):
			i++
			expect = true
			continue
		}
		if expect {
			if e := count(i); e != nil {
				return 0, e
			}
			expect = false
		}
		switch c {
		case '"':
			for i++; i < n && data[i] != '"'; i++ {
				switch data[i] {
				case '\\':
					i++
					if i < n && data[i] == '\n' {
						line, lineStart = line+1, i+1
					}
				case '\n':
					line, lineStart = line+1, i+1
				}
			}
			i++
		case '\'':
			for i++; i < n; i++ {
				if data[i] == '\'' {
					if i+1 < n && data[i+1] == '\'' {
						i++
						continue
					}
					break
				}
				if data[i] == '\n' {
					line, lineStart = line+1, i+1
				}
			}
			i++
		default:
			// A plain scalar runs to the end of the line, a ": ", a " #"
			// and, inside [ ] or { }, a flow indicator.
			for i++; i < n; i++ {
				d := data[i]
				if d == '\n' || (d == ':' && (space(i+1) || flow > 0)) || (d == '#' && space(i-1)) {
					break
				}
				if flow > 0 && (d == ',' || d == '[' || d == ']' || d == '{' || d == '}') {
					break
				}
			}
		}
	}
	return nodes, nil
}

// preScanJSON is preScanYAML for JSON, where the count is simple: every
// key and value but the first follows a "[", "{", "," or ":" outside a
// string. The parser counts exactly as well; the scan only spares it from
// building millions of nodes to find out.
func preScanJSON(file string, data []byte) (int, *diag.Error) {
	nodes, depth := 1, 0
	fail := func(off int, msg string) *diag.Error {
		for off < len(data) && (data[off] == ' ' || data[off] == '\t' || data[off] == '\r' || data[off] == '\n') {
			off++
		}
		return diag.Errorf(file, PosAt(data, off), "%s", msg)
	}
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			depth++
			if depth > MaxDepth {
				return 0, fail(i, tooDeep())
			}
			nodes++
		case ']', '}':
			depth--
		case ',', ':':
			nodes++
		default:
			continue
		}
		if nodes > MaxNodes {
			return 0, fail(i+1, tooManyNodes())
		}
	}
	return nodes, nil
}

// thousands writes n with commas: 2,000,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
