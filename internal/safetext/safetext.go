// Package safetext is how payctl shows text it did not write: recipient
// names from manifests, a provider's ids and failure reasons, file names.
// A person reviewing a plan must see what will be paid, so such text may
// never move the cursor, clear the screen, reorder what follows it, or hide
// characters that make two names differ.
//
// Unsafe says which characters are refused: C0 and C1 controls, DEL, every
// format character (Unicode category Cf: bidirectional embeddings,
// overrides, isolates and marks, zero-width spaces and joiners, the byte
// order mark, the soft hyphen, tag characters), line and paragraph
// separators, private-use characters, noncharacters, variation selectors
// and the other default-ignorable code points. Letters of every script,
// combining marks, CJK, ordinary spaces and U+FFFD REPLACEMENT CHARACTER
// (it is visible) stay allowed.
//
// Input readers refuse unsafe characters (see Find and Name); everything
// payctl prints that came from outside goes through Escape, field by
// field, and Writer escapes whatever was missed on the way to a terminal.
//
// Escape writes an unsafe character as a JSON-style escape, \u202E, with
// four upper-case hex digits; a character beyond the Basic Multilingual
// Plane becomes its UTF-16 surrogate pair, \uDB40\uDC01, so that escaped
// text placed inside a JSON string is still valid JSON that decodes to
// the original character. An invalid UTF-8 byte becomes \xFF (JSON output
// from encoding/json never holds one). A backslash is not escaped: the
// escapes only have to make hostile text inert and visible, not
// reversible.
package safetext

import (
	"fmt"
	"io"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Unsafe reports whether r is refused in outside text: it is a control,
// format, separator, private-use, noncharacter or default-ignorable code
// point (see the package documentation).
func Unsafe(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f:
		return true
	case r < 0x7f:
		return false
	case r <= 0x9f:
		return true
	case r == utf8.RuneError:
		return false
	case r > unicode.MaxRune || (r >= 0xD800 && r <= 0xDFFF):
		return true
	}
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) ||
		unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
		noncharacter(r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r)
}

func noncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

// safeASCII reports whether b is printable ASCII, the common case that
// needs no decoding.
func safeASCII(b byte) bool { return b >= 0x20 && b < 0x7f }

// Find returns the byte offset and rune of the first unsafe character of
// s. An invalid UTF-8 byte is unsafe too and is reported as
// utf8.RuneError at its offset. ok is false when s is safe.
func Find(s string) (i int, r rune, ok bool) {
	for i < len(s) {
		if safeASCII(s[i]) {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || Unsafe(r) {
			return i, r, true
		}
		i += size
	}
	return 0, 0, false
}

var names = map[rune]string{
	0x00: "NULL", 0x01: "START OF HEADING", 0x02: "START OF TEXT", 0x03: "END OF TEXT",
	0x04: "END OF TRANSMISSION", 0x05: "ENQUIRY", 0x06: "ACKNOWLEDGE", 0x07: "BELL",
	0x08: "BACKSPACE", 0x09: "CHARACTER TABULATION", 0x0A: "LINE FEED", 0x0B: "LINE TABULATION",
	0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x0E: "SHIFT OUT", 0x0F: "SHIFT IN",
	0x10: "DATA LINK ESCAPE", 0x11: "DEVICE CONTROL ONE", 0x12: "DEVICE CONTROL TWO",
	0x13: "DEVICE CONTROL THREE", 0x14: "DEVICE CONTROL FOUR", 0x15: "NEGATIVE ACKNOWLEDGE",
	0x16: "SYNCHRONOUS IDLE", 0x17: "END OF TRANSMISSION BLOCK", 0x18: "CANCEL",
	0x19: "END OF MEDIUM", 0x1A: "SUBSTITUTE", 0x1B: "ESCAPE", 0x1C: "FILE SEPARATOR",
	0x1D: "GROUP SEPARATOR", 0x1E: "RECORD SEPARATOR", 0x1F: "UNIT SEPARATOR",
	0x7F: "DELETE",
	0x85: "NEXT LINE", 0x90: "DEVICE CONTROL STRING", 0x9B: "CONTROL SEQUENCE INTRODUCER",
	0x9C: "STRING TERMINATOR", 0x9D: "OPERATING SYSTEM COMMAND",
	0xAD: "SOFT HYPHEN", 0x34F: "COMBINING GRAPHEME JOINER", 0x61C: "ARABIC LETTER MARK",
	0x200B: "ZERO WIDTH SPACE", 0x200C: "ZERO WIDTH NON-JOINER", 0x200D: "ZERO WIDTH JOINER",
	0x200E: "LEFT-TO-RIGHT MARK", 0x200F: "RIGHT-TO-LEFT MARK",
	0x2028: "LINE SEPARATOR", 0x2029: "PARAGRAPH SEPARATOR",
	0x202A: "LEFT-TO-RIGHT EMBEDDING", 0x202B: "RIGHT-TO-LEFT EMBEDDING",
	0x202C: "POP DIRECTIONAL FORMATTING", 0x202D: "LEFT-TO-RIGHT OVERRIDE",
	0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2060: "WORD JOINER", 0x2061: "FUNCTION APPLICATION", 0x2062: "INVISIBLE TIMES",
	0x2063: "INVISIBLE SEPARATOR", 0x2064: "INVISIBLE PLUS",
	0x2066: "LEFT-TO-RIGHT ISOLATE", 0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE", 0x2069: "POP DIRECTIONAL ISOLATE",
	0xFEFF: "ZERO WIDTH NO-BREAK SPACE (byte order mark)",
}

// Name names a character for a message: "U+202E RIGHT-TO-LEFT OVERRIDE",
// "U+001B ESCAPE", or for characters without a name in its table what
// kind of character it is, "U+E000 (a private-use character)".
func Name(r rune) string {
	code := fmt.Sprintf("U+%04X", r)
	if n, ok := names[r]; ok {
		return code + " " + n
	}
	switch {
	case r >= 0xFE00 && r <= 0xFE0F:
		return fmt.Sprintf("%s VARIATION SELECTOR-%d", code, r-0xFE00+1)
	case r >= 0xE0100 && r <= 0xE01EF:
		return fmt.Sprintf("%s VARIATION SELECTOR-%d", code, r-0xE0100+17)
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return code + " (a control character)"
	case r >= 0xE0000 && r <= 0xE007F:
		return code + " (an invisible tag character)"
	case unicode.Is(unicode.Cf, r):
		return code + " (an invisible format character)"
	case unicode.Is(unicode.Co, r):
		return code + " (a private-use character)"
	case noncharacter(r):
		return code + " (a noncharacter)"
	case Unsafe(r):
		return code + " (an invisible character)"
	}
	return code
}

const hexDigits = "0123456789ABCDEF"

// appendEscape appends the escape of an unsafe rune r.
func appendEscape(b []byte, r rune) []byte {
	if r > 0xFFFF && r <= unicode.MaxRune {
		r1, r2 := utf16.EncodeRune(r)
		return appendU(appendU(b, r1), r2)
	}
	return appendU(b, r)
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}

func appendByte(b []byte, c byte) []byte {
	return append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xF])
}

// Escape returns s with every unsafe character written as \uXXXX (a
// surrogate pair beyond the Basic Multilingual Plane) and every invalid
// UTF-8 byte as \xNN. It returns s itself when nothing needs escaping.
func Escape(s string) string {
	i, _, ok := Find(s)
	if !ok {
		return s
	}
	return string(escapeFrom(make([]byte, 0, len(s)+16), s, i, false))
}

// escapeFrom appends s to b, escaping from offset i on (s[:i] is safe).
// keepLayout leaves line ends as they are (line feeds, and carriage
// returns right before one) and tabs, which move the cursor forward only:
// the layout of payctl's own output (help text is indented with them).
func escapeFrom(b []byte, s string, i int, keepLayout bool) []byte {
	b = append(b, s[:i]...)
	for i < len(s) {
		c := s[i]
		if safeASCII(c) || (keepLayout && (c == '\n' || c == '\t' || (c == '\r' && i+1 < len(s) && s[i+1] == '\n'))) {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b = appendByte(b, c)
		case Unsafe(r):
			b = appendEscape(b, r)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// JSON makes encoded JSON safe to print: every unsafe character (they
// can only occur inside strings of valid JSON, and encoding/json already
// escapes C0 controls) becomes a \uXXXX escape, so the result is valid
// JSON that decodes to the same value. Whitespace between tokens (space,
// tab, line feed, carriage return) is kept. An invalid UTF-8 byte, which
// valid JSON cannot hold, becomes \uFFFD. It returns b itself when
// nothing needs escaping.
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) {
		c := b[i]
		if c < 0x80 && (safeASCII(c) || c == '\n' || c == '\t' || c == '\r') {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && size <= 1) || Unsafe(r) {
			break
		}
		i += size
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		c := b[i]
		if c < 0x80 && (safeASCII(c) || c == '\n' || c == '\t' || c == '\r') {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			out = appendU(out, utf8.RuneError)
		case Unsafe(r):
			out = appendEscape(out, r)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// Width is the number of terminal columns s takes: East Asian wide and
// fullwidth characters take two, combining marks and other zero-width
// characters none, everything else one. Measure escaped text: that is
// what is shown.
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < 0x80 {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n += RuneWidth(r)
	}
	return n
}

// RuneWidth is Width of one character.
func RuneWidth(r rune) int {
	switch {
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return 0
	case r < 0x300:
		return 1
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || r == 0x200B:
		return 0
	case r >= 0x1160 && r <= 0x11FF: // Hangul medial vowels and final consonants join the syllable before
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// Writer escapes what is written through it on its way to W, as Escape
// does, except that the layout passes: line feeds, a carriage return
// right before one (CSV's CRLF), and tabs (help text is indented with
// them; a tab only moves the cursor forward). They are the writer's own.
// It is the backstop on payctl's standard output and error, for any
// outside text that was not escaped where it was printed; escapes use the
// \uXXXX form, so JSON written through it stays valid.
//
// A character split across two writes is held (at most three bytes) until
// the rest arrives, and so is a carriage return at the end of a write;
// Flush writes a held incomplete character as \xNN escapes (a carriage
// return as \u000D). Write reports len(p) when W took everything. A Writer is safe
// for concurrent use.
type Writer struct {
	W       io.Writer
	mu      sync.Mutex
	pending [utf8.UTFMax]byte
	npend   int
	buf     []byte
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{W: w} }

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := p
	if w.npend > 0 {
		s = append(w.pending[:w.npend:w.npend], p...)
		w.npend = 0
	} else {
		i := 0
		for i < len(p) && (safeASCII(p[i]) || p[i] == '\n' || p[i] == '\t' || (p[i] == '\r' && i+1 < len(p) && p[i+1] == '\n')) {
			i++
		}
		if i == len(p) {
			if _, err := w.W.Write(p); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	// Hold an incomplete character at the end: its other bytes are in
	// the next write. Hold a carriage return too: whether it ends a line
	// depends on what comes next.
	tail := len(s)
	if tail > 0 && s[tail-1] == '\r' {
		tail--
	}
	for k := 1; k < utf8.UTFMax && k <= len(s) && tail == len(s); k++ {
		c := s[len(s)-k]
		if c < 0x80 {
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(s[len(s)-k:]) {
				tail = len(s) - k
			}
			break
		}
	}
	w.buf = escapeFrom(w.buf[:0], string(s[:tail]), 0, true)
	w.npend = copy(w.pending[:], s[tail:])
	if _, err := w.flushBuf(); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *Writer) flushBuf() (int, error) {
	b := w.buf
	if len(b) > 4096 {
		w.buf = nil
	} else {
		w.buf = b[:0]
	}
	if len(b) == 0 {
		return 0, nil
	}
	return w.W.Write(b)
}

// Flush writes a held incomplete character as \xNN escapes.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.npend == 0 {
		return nil
	}
	b := w.buf[:0]
	if w.npend == 1 && w.pending[0] == '\r' {
		b = appendU(b, '\r')
	} else {
		for _, c := range w.pending[:w.npend] {
			b = appendByte(b, c)
		}
	}
	w.npend = 0
	w.buf = b
	_, err := w.flushBuf()
	return err
}

// Close flushes.
func (w *Writer) Close() error { return w.Flush() }
