package doc

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/jsonnum"
)

// decodeJSON is a strict RFC 8259 scanner that builds the tree directly.
// encoding/json cannot report positions and would turn numbers into
// float64, so payctl has its own. Syntax errors stop the scan (nothing
// after them can be trusted); duplicate keys are collected and the scan
// goes on, so all of them are reported at once.
//
// The input was checked for UTF-8 before, and raw newlines cannot occur
// inside JSON strings, so lines only change in whitespace.
func decodeJSON(file, src string, stream *Stream, tc *textChecker) (*Node, diag.List) {
	p := &jsonParser{
		file:   file,
		src:    src,
		line:   1,
		col:    1,
		stream: stream,
		tc:     tc,
	}
	root, ok := p.value()
	if !ok {
		return nil, p.errs
	}
	p.skipSpace()
	if p.off < len(p.src) {
		p.fail(p.off, "unexpected %s after the top-level value; a file holds one JSON value", p.describe(p.off))
		return nil, p.errs
	}
	return &root, p.errs
}

type jsonParser struct {
	file string
	src  string
	off  int

	line      int32
	lineStart int
	// colOff/col cache the column of one offset on the current line so
	// that columns are counted incrementally: a minified file is one long
	// line, and counting from the line start each time would be quadratic.
	colOff int
	col    int32

	depth int
	nodes int // keys and values so far; see MaxNodes
	// stack holds the children of the containers being parsed; a
	// container copies its children out into an exactly sized slice when
	// it closes.
	stack []Node
	errs  diag.List

	// stream, when set, names the sequence whose items are handed over
	// one by one (see Stream); trail is the way from the root to the
	// value being parsed, and tc checks the text of the handed items.
	stream *Stream
	trail  []trailStep
	tc     *textChecker
	// inItem is set while a streamed item is parsed; pool holds its
	// containers' children (see kids).
	inItem bool
	pool   []Node
}

// trailStep is a key of a mapping, or an item of an array.
type trailStep struct {
	key  string
	item bool
}

// atStream reports whether the value being parsed is the streamed one.
func (p *jsonParser) atStream() bool {
	if p.stream == nil || len(p.trail) != len(p.stream.Path) {
		return false
	}
	for i, k := range p.stream.Path {
		if p.trail[i].item || p.trail[i].key != k {
			return false
		}
	}
	return true
}

func (p *jsonParser) pos(off int) (int32, int32) {
	if p.colOff < p.lineStart || off < p.colOff {
		p.colOff, p.col = p.lineStart, 1
	}
	c := p.col
	s := p.src[p.colOff:off]
	for i := 0; i < len(s); i++ {
		if s[i]&0xC0 != 0x80 {
			c++
		}
	}
	p.colOff, p.col = off, c
	return p.line, c
}

func (p *jsonParser) diagPos(off int) diag.Pos {
	l, c := p.pos(off)
	return diag.Pos{Line: int(l), Col: int(c)}
}

func (p *jsonParser) fail(off int, format string, args ...any) bool {
	p.errs.Add(p.file, p.diagPos(off), format, args...)
	return false
}

func (p *jsonParser) skipSpace() {
	for p.off < len(p.src) {
		switch p.src[p.off] {
		case ' ', '\t', '\r':
			p.off++
		case '\n':
			p.off++
			p.line++
			p.lineStart = p.off
		default:
			return
		}
	}
}

// describe names what is at off for an error message.
func (p *jsonParser) describe(off int) string {
	if off >= len(p.src) {
		return "end of file"
	}
	r, _ := utf8.DecodeRuneInString(p.src[off:])
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf("character %U", r)
	}
	return fmt.Sprintf("character %q", r)
}

// value parses one value. It returns the node by value: a pointer
// parameter would make every node of the recursion escape to the heap.
func (p *jsonParser) value() (Node, bool) {
	var n Node
	p.skipSpace()
	if p.off >= len(p.src) {
		return n, p.fail(p.off, "unexpected end of file; expected a value")
	}
	n.line, n.col = p.pos(p.off)
	if p.nodes++; p.nodes > MaxNodes {
		return n, p.fail(p.off, "%s", tooManyNodes())
	}
	var ok bool
	switch c := p.src[p.off]; {
	case c == '{':
		ok = p.object(&n)
	case c == '[':
		ok = p.array(&n)
	case c == '"':
		n.Kind = String
		n.Text, ok = p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		ok = p.number(&n)
	case c == 't':
		ok = p.literal(&n, "true", Bool)
	case c == 'f':
		ok = p.literal(&n, "false", Bool)
	case c == 'n':
		ok = p.literal(&n, "null", Null)
	case c == '\'':
		ok = p.fail(p.off, "unexpected character '\\''; JSON strings use double quotes")
	default:
		ok = p.fail(p.off, "unexpected %s; expected a value", p.describe(p.off))
	}
	return n, ok
}

func (p *jsonParser) literal(n *Node, word string, k Kind) bool {
	end := p.off + len(word)
	if end > len(p.src) || p.src[p.off:end] != word || (end < len(p.src) && isIdentByte(p.src[end])) {
		e := p.off
		for e < len(p.src) && isIdentByte(p.src[e]) {
			e++
		}
		return p.fail(p.off, "unexpected %q; expected a value (strings need double quotes)", p.src[p.off:max(e, p.off+1)])
	}
	n.Kind, n.Text = k, word
	p.off = end
	return true
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '+' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c >= 0x80
}

// number checks the JSON number grammar and keeps the text as written.
func (p *jsonParser) number(n *Node) bool {
	s, start := p.src, p.off
	i, err := jsonnum.Scan(s, start)
	switch {
	case err == jsonnum.ErrNoDigits:
		return p.fail(start, "invalid number %s", p.token(start))
	case err != nil:
		return p.fail(start, "invalid number %s: %v", p.token(start), err)
	case i < len(s) && s[i] >= '0' && s[i] <= '9':
		// The grammar takes every digit but those after a leading zero.
		return p.fail(start, "number %s has a leading zero; JSON numbers cannot have one (quote it if it is an account or code)", p.token(start))
	case i < len(s) && isIdentByte(s[i]):
		return p.fail(start, "invalid number %s", p.token(start))
	}
	n.Kind, n.Text = Number, s[start:i]
	p.off = i
	return true
}

// token is the run of identifier-like bytes at off, for messages.
func (p *jsonParser) token(off int) string {
	e := off
	for e < len(p.src) && isIdentByte(p.src[e]) && e-off < 40 {
		e++
	}
	if e == off {
		e = off + 1
	}
	return p.src[off:e]
}

// str reads a string at p.off (which holds '"').
func (p *jsonParser) str() (string, bool) {
	start := p.off
	i := start + 1
	s := p.src
	for i < len(s) {
		c := s[i]
		if c == '"' {
			p.off = i + 1
			return s[start+1 : i], true
		}
		if c == '\\' {
			return p.strEscaped(start, i)
		}
		if c < 0x20 {
			return "", p.failString(i, c)
		}
		i++
	}
	return "", p.fail(start, "string is not closed; expected a closing '\"'")
}

func (p *jsonParser) failString(i int, c byte) bool {
	if c == '\n' {
		return p.fail(i, "string is not closed at the end of the line; JSON strings cannot span lines (write \\n)")
	}
	return p.fail(i, "control character %U in a string; escape it", rune(c))
}

// strEscaped finishes a string that has escapes; esc is the first '\\'.
func (p *jsonParser) strEscaped(start, esc int) (string, bool) {
	s := p.src
	var b strings.Builder
	b.Grow(esc - start + 16)
	b.WriteString(s[start+1 : esc])
	i := esc
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.off = i + 1
			return b.String(), true
		case c < 0x20:
			return "", p.failString(i, c)
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return "", p.fail(i, "invalid escape %s; \\u needs four hex digits", clip(s[i:], 6))
			}
			n := 6
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
					r2, ok2 = hex4(s, i+8)
				}
				dec := utf16.DecodeRune(r, r2)
				if !ok2 || dec == utf8.RuneError {
					return "", p.fail(i, "invalid escape %s: a lone UTF-16 surrogate is not a character", clip(s[i:], 6))
				}
				r, n = dec, 12
			}
			b.WriteRune(r)
			i += n
			continue
		default:
			return "", p.fail(i, "invalid escape %s in a string", clip(s[i:], 2))
		}
		i += 2
	}
	return "", p.fail(start, "string is not closed; expected a closing '\"'")
}

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (p *jsonParser) enter(open int) bool {
	p.depth++
	if p.depth > MaxDepth {
		return p.fail(open, "%s", tooDeep())
	}
	return true
}

// kids returns room for k children. Inside a streamed item it is taken
// from pool, which every item reuses: an item's nodes are needed only
// until it is handed over.
func (p *jsonParser) kids(k int) []Node {
	if !p.inItem {
		return make([]Node, k)
	}
	if cap(p.pool)-len(p.pool) < k {
		// Nodes handed out from the old block stay valid in it.
		p.pool = make([]Node, 0, max(2*cap(p.pool), k, 64))
	}
	n := len(p.pool)
	p.pool = p.pool[:n+k]
	return p.pool[n : n+k : n+k]
}

// closeKids moves the children collected since base into n.
func (p *jsonParser) closeKids(n *Node, base int) {
	if k := len(p.stack) - base; k > 0 {
		n.Kids = p.kids(k)
		copy(n.Kids, p.stack[base:])
		clear(p.stack[base:])
		p.stack = p.stack[:base]
	}
	p.depth--
}

func (p *jsonParser) object(n *Node) bool {
	open := p.off
	n.Kind = Mapping
	if !p.enter(open) {
		return false
	}
	p.off++
	base := len(p.stack)
	p.skipSpace()
	if p.off < len(p.src) && p.src[p.off] == '}' {
		p.off++
		p.closeKids(n, base)
		return true
	}
	// Small objects look for duplicates by scanning their keys; a large
	// one (a hand-written map of hundreds of providers, say) switches to
	// a map so the check stays linear.
	var seen map[string]int
	for {
		p.skipSpace()
		if p.off >= len(p.src) {
			return p.unclosed(open, "object")
		}
		if p.src[p.off] != '"' {
			if p.src[p.off] == '}' {
				return p.fail(p.off, "trailing comma before '}'")
			}
			return p.fail(p.off, "unexpected %s; expected a key in double quotes", p.describe(p.off))
		}
		kl, kc := p.pos(p.off)
		if p.nodes++; p.nodes > MaxNodes {
			return p.fail(p.off, "%s", tooManyNodes())
		}
		key, ok := p.str()
		if !ok {
			return false
		}
		p.skipSpace()
		if p.off >= len(p.src) {
			return p.unclosed(open, "object")
		}
		if p.src[p.off] != ':' {
			return p.fail(p.off, "unexpected %s; expected ':' after key %q", p.describe(p.off), key)
		}
		p.off++
		if p.stream != nil {
			p.trail = append(p.trail, trailStep{key: key})
		}
		v, ok := p.value()
		if !ok {
			return false
		}
		if p.stream != nil {
			p.trail = p.trail[:len(p.trail)-1]
		}
		v.Key, v.keyLine, v.keyCol = key, kl, kc
		k := len(p.stack) - base
		first := -1
		if seen != nil {
			if j, dup := seen[key]; dup {
				first = j
			}
		} else {
			for j := base; j < len(p.stack); j++ {
				if p.stack[j].Key == key {
					first = j - base
					break
				}
			}
		}
		if first >= 0 {
			f := &p.stack[base+first]
			p.errs.Add(p.file, diag.Pos{Line: int(kl), Col: int(kc)}, "duplicate key %q; first at line %d, column %d", key, f.keyLine, f.keyCol)
		} else if seen != nil {
			seen[key] = k
		} else if k == 16 {
			seen = make(map[string]int, 32)
			for j := base; j < len(p.stack); j++ {
				seen[p.stack[j].Key] = j - base
			}
			seen[key] = k
		}
		p.stack = append(p.stack, v)
		p.skipSpace()
		if p.off >= len(p.src) {
			return p.unclosed(open, "object")
		}
		switch p.src[p.off] {
		case ',':
			p.off++
			continue
		case '}':
			p.off++
			p.closeKids(n, base)
			return true
		}
		return p.fail(p.off, "unexpected %s; expected ',' or '}' after the value of %q", p.describe(p.off), key)
	}
}

func (p *jsonParser) array(n *Node) bool {
	open := p.off
	n.Kind = Sequence
	if !p.enter(open) {
		return false
	}
	p.off++
	base := len(p.stack)
	p.skipSpace()
	if p.off < len(p.src) && p.src[p.off] == ']' {
		p.off++
		p.closeKids(n, base)
		return true
	}
	streamed := p.atStream()
	var path []step
	if streamed {
		// Room for the deepest path, so that the text check of an item
		// does not allocate for it.
		path = make([]step, 0, len(p.stream.Path)+MaxDepth+1)
		for _, k := range p.stream.Path {
			path = append(path, step{key: k, index: -1})
		}
		path = append(path, step{})
	}
	if p.stream != nil {
		p.trail = append(p.trail, trailStep{item: true})
		defer func() { p.trail = p.trail[:len(p.trail)-1] }()
	}
	for i := 0; ; i++ {
		p.skipSpace()
		if p.off < len(p.src) && p.src[p.off] == ']' {
			return p.fail(p.off, "trailing comma before ']'")
		}
		if streamed {
			p.inItem = true
		}
		v, ok := p.value()
		if streamed {
			p.inItem = false
		}
		if !ok {
			return false
		}
		if streamed {
			path[len(path)-1].index = i
			// An item's errors all lie after those of the items before
			// it: past the ones a file lists, they are only counted.
			p.tc.counting = len(p.tc.errs) >= diag.MaxPerFile
			p.tc.walk(&v, path)
			p.stream.Item(i, &v)
			p.pool = p.pool[:0]
		} else {
			p.stack = append(p.stack, v)
		}
		p.skipSpace()
		if p.off >= len(p.src) {
			return p.unclosed(open, "array")
		}
		switch p.src[p.off] {
		case ',':
			p.off++
			continue
		case ']':
			p.off++
			p.closeKids(n, base)
			return true
		}
		return p.fail(p.off, "unexpected %s; expected ',' or ']' in the array", p.describe(p.off))
	}
}

func (p *jsonParser) unclosed(open int, what string) bool {
	pos := PosAt([]byte(p.src[:open]), open)
	return p.fail(p.off, "unexpected end of file; the %s opened at line %d, column %d is not closed", what, pos.Line, pos.Col)
}
