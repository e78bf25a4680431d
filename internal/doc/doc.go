// Package doc is payctl's positioned document tree: the one shape YAML and
// JSON input (manifests, payctl.yaml) is decoded into before anything reads
// it, so that every later error can name its file, line and column.
//
// The tree keeps what the user wrote, not what a decoder guessed:
//
//   - scalars keep their exact source text and a Kind (string, number, bool,
//     null); a number is never converted, so YAML's 012345 stays "012345"
//     (no octal, no lost zero) and a JSON 1e3 stays "1e3";
//   - mappings keep their keys in source order, each with its own position;
//   - positions are 1-based lines and columns counted in Unicode characters
//     (runes), the same way for both formats.
//
// Decoding is strict: invalid UTF-8, a byte order mark, duplicate keys,
// YAML anchors, aliases, merge keys, custom tags, non-string keys, several
// YAML documents in one file, and trailing data after a JSON value are all
// errors with positions. So is every string or key holding a character
// safetext refuses (controls, bidirectional and invisible characters),
// however it was spelled: one error per string, at the string. Both
// decoders refuse input above a size cap before looking at it, and input of more than MaxNodes keys and values or
// MaxDepth levels of nesting with one error, before building a tree of it.
package doc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/safetext"
)

// Kind is what a node is.
type Kind uint8

// The kinds of node. String, Number, Bool and Null are scalars.
const (
	Invalid Kind = iota
	Mapping
	Sequence
	String
	Number
	Bool
	Null
)

func (k Kind) String() string {
	switch k {
	case Mapping:
		return "mapping"
	case Sequence:
		return "sequence"
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Null:
		return "null"
	}
	return "invalid"
}

// Node is one value of a document. A mapping's entries are its Kids, each
// carrying its Key and the key's position; a sequence's items are its Kids
// with no key.
//
// Children are stored by value in one slice per container: a 100k-payout
// manifest is about a million nodes, and one allocation per container
// instead of one per node is what keeps decoding fast and small.
type Node struct {
	Kind            Kind
	line, col       int32
	keyLine, keyCol int32
	// Key is the entry's key when the node is a value in a mapping.
	Key string
	// Text is a scalar's text: the decoded value of a string, the exact
	// source spelling of a number, bool or null (YAML "~" stays "~", an
	// empty YAML value is "").
	Text string
	Kids []Node
}

// Pos is where the node's value starts. For a YAML sequence item it is the
// item's "- ".
func (n *Node) Pos() diag.Pos { return diag.Pos{Line: int(n.line), Col: int(n.col)} }

// KeyPos is the position of the node's key; the zero Pos for a node that
// is not a mapping value.
func (n *Node) KeyPos() diag.Pos { return diag.Pos{Line: int(n.keyLine), Col: int(n.keyCol)} }

// Anchor is where an error about the node as a whole belongs: its key when
// it has one (the "recipient:" of a recipient mapping), else its value.
func (n *Node) Anchor() diag.Pos {
	if n.keyLine > 0 {
		return n.KeyPos()
	}
	return n.Pos()
}

// IsScalar reports whether n is a string, number, bool or null.
func (n *Node) IsScalar() bool { return n.Kind >= String }

// Field returns the value of key in a mapping, or nil.
func (n *Node) Field(key string) *Node {
	if n == nil || n.Kind != Mapping {
		return nil
	}
	for i := range n.Kids {
		if n.Kids[i].Key == key {
			return &n.Kids[i]
		}
	}
	return nil
}

// At follows a path of mapping keys and sequence indexes (as decimal
// strings, the way JSON Schema instance locations spell them) and returns
// the node there, or nil.
func (n *Node) At(path []string) *Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch n.Kind {
		case Mapping:
			n = n.Field(p)
		case Sequence:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n.Kids) {
				return nil
			}
			n = &n.Kids[i]
		default:
			return nil
		}
	}
	return n
}

// Format is an input syntax.
type Format string

// The two formats payctl reads.
const (
	YAML Format = "yaml"
	JSON Format = "json"
)

// FormatOf returns the format a file name's extension declares: .json is
// JSON, .yaml and .yml are YAML.
func FormatOf(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return JSON, true
	case ".yaml", ".yml":
		return YAML, true
	}
	return "", false
}

// MaxDepth bounds nesting. payctl's documents are five levels deep; the
// bound keeps hostile input from exhausting the stack or memory.
const MaxDepth = 64

// ReadFile reads a regular file of at most max bytes. It reads at most
// max+1 bytes whatever the file's size, so an oversized or growing file
// costs no more than the cap. Errors name the file and carry no position.
//
// A named pipe, device or socket is refused before it is opened (opening a
// pipe waits for a writer; reading a device may never end), and the file
// is opened without blocking in case one replaced it after that look.
func ReadFile(path string, max int) ([]byte, *diag.Error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &diag.Error{File: path, Msg: ioMessage(err)}
	}
	if why := NotRegular(st.Mode()); why != "" {
		return nil, &diag.Error{File: path, Msg: why}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, &diag.Error{File: path, Msg: ioMessage(err)}
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, &diag.Error{File: path, Msg: ioMessage(err)}
	}
	if why := NotRegular(st.Mode()); why != "" {
		return nil, &diag.Error{File: path, Msg: why}
	}
	// Sized from the file so that a large file is not copied through
	// doubling buffers; ReadFrom wants bytes.MinRead to spare.
	buf := bytes.NewBuffer(make([]byte, 0, min(st.Size(), int64(max))+bytes.MinRead+1))
	_, err = buf.ReadFrom(io.LimitReader(f, int64(max)+1))
	data := buf.Bytes()
	if err != nil {
		return nil, &diag.Error{File: path, Msg: ioMessage(err)}
	}
	if len(data) > max {
		return nil, &diag.Error{File: path, Msg: tooLarge(max)}
	}
	return data, nil
}

// NotRegular says why a file of this mode is not read as a document ("it
// is a named pipe (FIFO), not a regular file"), or "" for a regular file.
// Manifests, payctl.yaml and watch's inbox all go by it.
func NotRegular(mode fs.FileMode) string {
	switch t := mode.Type(); {
	case t == 0:
		return ""
	case t&fs.ModeDir != 0:
		return "it is a directory, not a regular file"
	case t&fs.ModeSymlink != 0:
		return "it is a symbolic link, not a regular file"
	case t&fs.ModeNamedPipe != 0:
		return "it is a named pipe (FIFO), not a regular file; payctl never reads from pipes"
	case t&fs.ModeSocket != 0:
		return "it is a socket, not a regular file"
	case t&fs.ModeDevice != 0:
		return "it is a device file, not a regular file"
	default:
		return fmt.Sprintf("it is not a regular file (%s)", t)
	}
}

func ioMessage(err error) string {
	switch {
	case os.IsNotExist(err):
		return "no such file or directory"
	case os.IsPermission(err):
		return "permission denied"
	}
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func tooLarge(max int) string {
	return fmt.Sprintf("file is larger than the %s limit", sizeText(max))
}

func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d byte", n)
}

// DecodeFile decodes data in the format its file name says. expected
// ends the error for any other extension: what the file should be
// ("manifests are .yaml, .yml or .json files").
func DecodeFile(file string, data []byte, max int, expected string) (*Node, Format, diag.List) {
	f, ok := FormatOf(file)
	if !ok {
		return nil, "", diag.List{&diag.Error{File: file, Msg: fmt.Sprintf("unsupported file extension %q; %s", filepath.Ext(file), expected)}}
	}
	root, errs := Decode(file, data, f, max)
	return root, f, errs
}

// Decode checks data (size cap, UTF-8, no byte order mark, not empty) and
// decodes it in format f. It returns the root node, or nil and every error
// found; errors are sorted and each has a position.
func Decode(file string, data []byte, f Format, max int) (*Node, diag.List) {
	return decode(file, data, f, max, nil)
}

// Stream names a sequence of a document whose items are handed over one
// at a time instead of being kept in the tree: the payouts of a manifest,
// a hundred thousand small mappings that are each checked and copied out
// on their own, so that the whole of them is never held as nodes.
type Stream struct {
	// Path is the mapping keys from the root to the sequence.
	Path []string
	// Item is called with each item of the sequence, in order, with its
	// index. n and everything under it is valid only during the call.
	//
	// It may be called before an error is found further on in the file
	// (JSON is decoded in one pass); whatever it made of the items must
	// then be dropped, as DecodeStream returns only the errors.
	Item func(i int, n *Node)
	// Count, if set, is told the number of items before the first call
	// to Item when the decoder knows it in advance (YAML, whose parser
	// builds its whole tree first); a JSON decode never calls it.
	Count func(n int)
}

// DecodeStream is DecodeFile with the sequence at s.Path handed to
// s.Item item by item: in the tree it returns, that sequence has no
// children. Decoding errors, including those of the items (unsafe text,
// duplicate keys), are the same as DecodeFile's. When the value at s.Path
// is not a sequence it stays in the tree and s.Item is not called.
//
// The tree and the items may hold strings that share data's memory: data
// must not be changed while they are in use.
func DecodeStream(file string, data []byte, max int, expected string, s *Stream) (*Node, Format, diag.List) {
	f, ok := FormatOf(file)
	if !ok {
		return nil, "", diag.List{&diag.Error{File: file, Msg: fmt.Sprintf("unsupported file extension %q; %s", filepath.Ext(file), expected)}}
	}
	root, errs := decode(file, data, f, max, s)
	return root, f, errs
}

func decode(file string, data []byte, f Format, max int, stream *Stream) (*Node, diag.List) {
	var errs diag.List
	if len(data) > max {
		errs.Add(file, diag.Pos{Line: 1, Col: 1}, "%s", tooLarge(max))
		return nil, errs
	}
	if e := checkEncoding(file, data); e != nil {
		return nil, diag.List{e}
	}
	if isBlank(data, f) {
		errs.Add(file, diag.Pos{Line: 1, Col: 1}, "file is empty")
		return nil, errs
	}
	var (
		root *Node
		tc   = &textChecker{file: file}
	)
	switch f {
	case JSON:
		if _, e := preScanJSON(file, data); e != nil {
			return nil, diag.List{e}
		}
		// The one copy of the input that every string without escapes
		// (nearly all of them) is a substring of. A streamed decode
		// shares data's memory instead, as DecodeStream says.
		src := string(data)
		if stream != nil && len(data) > 0 {
			src = unsafe.String(unsafe.SliceData(data), len(data))
		}
		root, errs = decodeJSON(file, src, stream, tc)
	case YAML:
		if _, e := preScanYAML(file, data); e != nil {
			return nil, diag.List{e}
		}
		root, errs = decodeYAML(file, data)
	default:
		errs.Add(file, diag.Pos{Line: 1, Col: 1}, "unknown format %q", f)
	}
	if len(errs) == 0 {
		// What the header holds may come before the streamed items.
		tc.counting = false
		tc.walk(root, make([]step, 0, MaxDepth+1))
		errs = tc.errs
		if tc.unlisted > 0 {
			errs = append(errs, &diag.Error{File: file, More: tc.unlisted})
		}
		errs.Limit(diag.MaxPerFile)
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	if stream != nil && f == YAML {
		// yaml.v3 has built its whole tree already: hand the items over
		// from it, and drop them from the tree.
		if seq := root.At(stream.Path); seq != nil && seq.Kind == Sequence && pathOfKeys(root, stream.Path) {
			if stream.Count != nil {
				stream.Count(len(seq.Kids))
			}
			for i := range seq.Kids {
				stream.Item(i, &seq.Kids[i])
			}
			seq.Kids = nil
		}
	}
	return root, nil
}

// pathOfKeys reports whether path leads from root through mappings only.
func pathOfKeys(root *Node, path []string) bool {
	n := root
	for _, k := range path {
		if n.Kind != Mapping {
			return false
		}
		if n = n.Field(k); n == nil {
			return false
		}
	}
	return true
}

// UnsafeTextAdvice ends the message for a string or key that holds an
// unsafe character (see safetext.Unsafe).
const UnsafeTextAdvice = "control, bidirectional and invisible characters could make the plan show something other than what is paid; remove it"

// textChecker refuses every string scalar and mapping key that holds a
// character safetext refuses (controls, bidirectional and other invisible
// characters), one error per string at its position, naming the field,
// the character and which character of the value it is. Every document
// payctl reads passes here, whatever its format and however the
// character was spelled (raw, or as a YAML or JSON escape).
type textChecker struct {
	file string
	errs diag.List
	// counting, when set, makes walk count what it finds in unlisted
	// instead of phrasing it: past the first diag.MaxPerFile errors of a
	// file, which are all that is listed, when everything walked from
	// now on lies after them.
	counting bool
	unlisted int
}

// add records an error, or only counts it.
func (tc *textChecker) add(pos diag.Pos, format string, args ...any) {
	if tc.counting {
		tc.unlisted++
		return
	}
	tc.errs.Add(tc.file, pos, format, args...)
}

// walk checks n, found at path: the keys and indexes down to it (an
// index is spelled only for a message). A path with room for the
// deepest nesting spares an allocation per level.
func (tc *textChecker) walk(n *Node, path []step) {
	switch n.Kind {
	case String:
		if i, r, bad := safetext.Find(n.Text); bad {
			tc.add(n.Pos(), "%s contains %s (character %d): %s", textLabel(path), safetext.Name(r), utf8.RuneCountInString(n.Text[:i])+1, UnsafeTextAdvice)
		}
	case Mapping:
		for i := range n.Kids {
			k := &n.Kids[i]
			if j, r, bad := safetext.Find(k.Key); bad {
				tc.add(k.KeyPos(), "a key of %s contains %s (character %d): %s", textLabel(path), safetext.Name(r), utf8.RuneCountInString(k.Key[:j])+1, UnsafeTextAdvice)
				continue
			}
			tc.walk(k, append(path, step{key: k.Key, index: -1}))
		}
	case Sequence:
		for i := range n.Kids {
			tc.walk(&n.Kids[i], append(path, step{index: i}))
		}
	}
}

// step is one step of a path: a sequence index, or a key when index is
// -1.
type step struct {
	key   string
	index int
}

// textLabel names the field at path the way users refer to it: keys
// joined by dots, indexes as [i]; below a sequence item, from the item
// on, since the position says which item ("recipient.name", not
// "spec.payouts[3].recipient.name").
func textLabel(path []step) string {
	from := 0
	for i, p := range path {
		if p.index >= 0 && i+1 < len(path) {
			from = i + 1
		}
	}
	var b strings.Builder
	for i, p := range path[from:] {
		switch {
		case p.index >= 0:
			fmt.Fprintf(&b, "[%d]", p.index)
		case i > 0:
			b.WriteByte('.')
			fallthrough
		default:
			b.WriteString(p.key)
		}
	}
	if b.Len() == 0 {
		return "the document"
	}
	return b.String()
}

// checkEncoding rejects a byte order mark and invalid UTF-8, naming the
// first bad byte by line:column (and byte offset, since an editor may show
// the bad byte in a way that hides it).
func checkEncoding(file string, data []byte) *diag.Error {
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return diag.Errorf(file, diag.Pos{Line: 1, Col: 1}, "file starts with a UTF-8 byte order mark; save it as UTF-8 without one")
	}
	if utf8.Valid(data) {
		return nil
	}
	off := 0
	for off < len(data) {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	return diag.Errorf(file, PosAt(data, off), "invalid UTF-8 (byte 0x%02x at offset %d); save the file as UTF-8", data[off], off)
}

// PosAt converts a byte offset into a line and rune column. It is linear
// in off and meant for error paths.
func PosAt(data []byte, off int) diag.Pos {
	if off > len(data) {
		off = len(data)
	}
	line, start := 1, 0
	for i := 0; i < off; i++ {
		if data[i] == '\n' {
			line++
			start = i + 1
		}
	}
	col := 1
	for i := start; i < off; i++ {
		if data[i]&0xC0 != 0x80 {
			col++
		}
	}
	return diag.Pos{Line: line, Col: col}
}

// isBlank reports whether data holds nothing but whitespace (and, in YAML,
// comments).
func isBlank(data []byte, f Format) bool {
	inComment := false
	for _, c := range data {
		switch {
		case c == '\n' || c == '\r':
			inComment = false
		case inComment, c == ' ', c == '\t':
		case c == '#' && f == YAML:
			inComment = true
		default:
			return false
		}
	}
	return true
}

// Digest is "sha256:<hex>" of a source file's bytes: manifests and the
// config carry it, and a saved plan pins them by it, so every side must
// compute it here.
func Digest(data []byte) string {
	s := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(s[:])
}
