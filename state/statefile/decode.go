package statefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// The snapshot decoder is written by hand because a state of a million
// payouts must load in well under the time encoding/json takes (it spends
// ~16 µs per payout on reflection and allocation; this decoder ~1 µs), and
// because the payout array can then be decoded on every core.
//
// It is a strict decoder of any valid JSON spelling of the format, not
// only of the canonical bytes payctl writes: whitespace may be anywhere,
// keys in any order. Unknown fields, duplicate fields, invalid UTF-8 and
// wrong types are errors with a line:column.

type decoder struct {
	// check, if set, is called by the payout workers for each payout; it
	// returns the problems it finds, with pointers relative to the payout.
	check func(p *state.Payout) []*diag.Error
	probs []*diag.Error
	// onPayout, if set, receives each payout in order, as soon as its
	// chunk is decoded.
	onPayout func(i int, p *state.Payout)
	taken    int // payouts handed on so far

	scratch state.Fields
	slab    slab

	data []byte
	// text is data as one string: decoded strings without escapes are
	// substrings of it, so a payout's fields cost no allocation (the file's
	// bytes are already checked to be UTF-8).
	text string
	pos  int
	// base is the offset of data in the whole file, for positions.
	base int
	err  error
}

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = &syntaxError{off: d.base + d.pos, msg: fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

func (d *decoder) expect(c byte) bool {
	if d.peek() != c {
		if d.pos >= len(d.data) {
			d.fail("unexpected end of data, expected %q", c)
		} else {
			d.fail("expected %q, found %q", c, d.data[d.pos])
		}
		return false
	}
	d.pos++
	return true
}

func (d *decoder) null() bool {
	if d.peek() == 'n' && bytes.HasPrefix(d.data[d.pos:], []byte("null")) {
		d.pos += 4
		return true
	}
	return false
}

// object calls field for each key of an object; field consumes the value.
// Duplicate keys are refused.
func (d *decoder) object(field func(key string)) {
	if !d.expect('{') {
		return
	}
	var seen [16]string
	n := 0
	if d.peek() == '}' {
		d.pos++
		return
	}
	for d.err == nil {
		key := d.rawString()
		if d.err != nil {
			return
		}
		for i := 0; i < n && i < len(seen); i++ {
			if seen[i] == key {
				d.fail("duplicate field %q", key)
				return
			}
		}
		if n < len(seen) {
			seen[n] = key
		}
		n++
		if !d.expect(':') {
			return
		}
		field(key)
		if d.err != nil {
			return
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return
		default:
			d.fail("expected ',' or '}' in object")
			return
		}
	}
}

func (d *decoder) array(elem func()) {
	if !d.expect('[') {
		return
	}
	if d.peek() == ']' {
		d.pos++
		return
	}
	for d.err == nil {
		elem()
		if d.err != nil {
			return
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return
		default:
			d.fail("expected ',' or ']' in array")
			return
		}
	}
}

// rawString reads a string.
func (d *decoder) rawString() string {
	if !d.expect('"') {
		return ""
	}
	start := d.pos
	data := d.data
	i := d.pos
	// Eight bytes at a time while none of them ends the plain run.
	for i+8 <= len(data) {
		w := binary.LittleEndian.Uint64(data[i:])
		if hasSpecial(w) {
			break
		}
		i += 8
	}
	for i < len(data) && !special[data[i]] {
		i++
	}
	d.pos = i
	if i >= len(data) {
		d.fail("unterminated string")
		return ""
	}
	switch c := data[i]; {
	case c == '"':
		d.pos++
		return d.text[start:i]
	case c == '\\':
		return d.escapedString(start)
	}
	d.fail("control character in a string")
	return ""
}

// hasSpecial reports whether any byte of w is a quote, a backslash or a
// control character (the classic "has a zero byte" tricks).
func hasSpecial(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ (ones * '"')
	slash := w ^ (ones * '\\')
	zeroQuote := (quote - ones) &^ quote & highs
	zeroSlash := (slash - ones) &^ slash & highs
	control := (w - ones*0x20) &^ w & highs
	return zeroQuote|zeroSlash|control != 0
}

// special marks the bytes that end the plain run of a string: the closing
// quote, an escape, or a control character (not allowed in JSON strings).
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func (d *decoder) escapedString(start int) string {
	buf := append([]byte{}, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf)
		case c < 0x20:
			d.fail("control character in a string")
			return ""
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(d.data) {
			break
		}
		e := d.data[d.pos+1]
		d.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return ""
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					d.pos += 2
					r2, ok = d.hex4()
					if !ok {
						return ""
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			d.fail("invalid escape \\%c", e)
			return ""
		}
	}
	d.fail("unterminated string")
	return ""
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		d.fail("truncated \\u escape")
		return 0, false
	}
	v, err := strconv.ParseUint(string(d.data[d.pos:d.pos+4]), 16, 16)
	if err != nil {
		d.fail("invalid \\u escape")
		return 0, false
	}
	d.pos += 4
	return rune(v), true
}

func (d *decoder) uint() uint64 {
	d.ws()
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	v, err := strconv.ParseUint(string(d.data[start:d.pos]), 10, 64)
	if err != nil || (d.pos-start > 1 && d.data[start] == '0') {
		d.pos = start
		d.fail("expected a non-negative integer")
	}
	return v
}

func (d *decoder) int() int64 {
	neg := d.peek() == '-'
	if neg {
		d.pos++
	}
	v := d.uint()
	if v > 1<<62 {
		d.fail("integer out of range")
	}
	if neg {
		return -int64(v)
	}
	return int64(v)
}

func (d *decoder) amount() money.Amount {
	s := d.rawString()
	if d.err != nil {
		return money.Amount{}
	}
	var a money.Amount
	if err := a.UnmarshalText([]byte(s)); err != nil {
		d.fail("amount %q is not a decimal string", s)
	}
	return a
}

func (d *decoder) optAmount() *money.Amount {
	if d.null() {
		return nil
	}
	return d.slab.amount(d.amount())
}

func (d *decoder) time() time.Time {
	s := d.rawString()
	if d.err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail("%q is not an RFC 3339 time", s)
	}
	return t
}

func (d *decoder) fields() state.Fields {
	if d.null() {
		return nil
	}
	// Collected in the decoder's scratch, then copied once at its size.
	f := d.scratch[:0]
	sorted := true
	d.object(func(k string) {
		if len(f) > 0 && k < f[len(f)-1].Name {
			sorted = false
		}
		f = append(f, state.Field{Name: k, Value: d.rawString()})
	})
	d.scratch = f
	if len(f) == 0 {
		return state.Fields{}
	}
	out := d.slab.fieldList(f)
	if !sorted {
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	}
	return out
}

func (d *decoder) unknown(where, key string) {
	d.fail("unknown field %q in %s", key, where)
}

func (d *decoder) recipient() providers.Recipient {
	var r providers.Recipient
	d.object(func(k string) {
		switch k {
		case "id":
			r.ID = d.rawString()
		case "name":
			r.Name = d.rawString()
		case "bankCode":
			r.BankCode = d.rawString()
		case "bank":
			r.Bank = d.rawString()
		case "account":
			r.Account = d.rawString()
		case "country":
			r.Country = d.rawString()
		default:
			d.unknown("recipient", k)
		}
	})
	return r
}

// findings reads a list of findings (an attempt's, or an event payout's).
func (d *decoder) findings() []state.Finding {
	var out []state.Finding
	d.array(func() {
		var f state.Finding
		d.object(func(k string) {
			switch k {
			case "kind":
				f.Kind = d.rawString()
			case "want":
				f.Want = d.rawString()
			case "got":
				f.Got = d.rawString()
			default:
				d.unknown("finding", k)
			}
		})
		out = append(out, f)
	})
	return out
}

// approvers reads a list of approvers (an attempt's approvedBy, or an
// intent's approvals).
func (d *decoder) approvers() []state.Approver {
	var out []state.Approver
	d.array(func() {
		var ap state.Approver
		d.object(func(k string) {
			switch k {
			case "principal":
				ap.Principal = d.rawString()
			case "key":
				ap.Key = d.rawString()
			default:
				d.unknown("approver", k)
			}
		})
		out = append(out, ap)
	})
	return out
}

func (d *decoder) attempt() *state.Attempt {
	a := d.slab.attempt()
	d.object(func(k string) {
		switch k {
		case "n":
			a.N = int(d.int())
		case "key":
			a.Key = d.rawString()
		case "status":
			a.Status = providers.Status(d.rawString())
		case "group":
			a.Group = d.rawString()
		case "ids":
			a.IDs = d.fields()
		case "fee":
			a.Fee = d.optAmount()
		case "answer":
			a.Answer = d.fields()
		case "reason":
			a.Reason = d.rawString()
		case "findings":
			a.Findings = d.findings()
		case "resolvedBy":
			a.ResolvedBy = d.rawString()
		case "approvedBy":
			a.ApprovedBy = d.approvers()
		case "sentAt":
			a.SentAt = d.time()
		case "finalAt":
			if !d.null() {
				a.FinalAt = d.slab.time(d.time())
			}
		case "sends":
			a.Sends = int(d.int())
		default:
			d.unknown("attempt", k)
		}
	})
	return a
}

func (d *decoder) payout() *state.Payout {
	if d.null() {
		return nil
	}
	p := d.slab.payout()
	d.object(func(k string) {
		switch k {
		case "address":
			p.Address = d.rawString()
		case "provider":
			p.Provider = d.rawString()
		case "type":
			p.Type = d.rawString()
		case "currency":
			p.Currency = d.rawString()
		case "amount":
			p.Amount = d.amount()
		case "recipient":
			p.Recipient = d.recipient()
		case "reference":
			p.Reference = d.rawString()
		case "metadata":
			p.Metadata = d.fields()
		case "digest":
			p.Digest = d.rawString()
		case "plannedFee":
			p.PlannedFee = d.optAmount()
		case "feePayer":
			p.FeePayer = fee.Payer(d.rawString())
		case "status":
			p.Status = providers.Status(d.rawString())
		case "attempts":
			d.array(func() {
				a := d.attempt()
				if p.Attempts == nil {
					p.Attempts = d.slab.attemptList(a)
				} else {
					p.Attempts = append(p.Attempts, a)
				}
			})
		default:
			d.unknown("payout", k)
		}
	})
	return p
}

func (d *decoder) group() *state.Group {
	if d.null() {
		return nil
	}
	g := &state.Group{}
	d.object(func(k string) {
		switch k {
		case "id":
			g.ID = d.rawString()
		case "provider":
			g.Provider = d.rawString()
		case "token":
			g.Token = d.rawString()
		case "addresses":
			d.array(func() { g.Addresses = append(g.Addresses, d.rawString()) })
		case "total":
			g.Total = d.amount()
		case "currency":
			g.Currency = d.rawString()
		case "plannedFee":
			g.PlannedFee = d.optAmount()
		case "quotedFee":
			g.QuotedFee = d.optAmount()
		case "fee":
			g.Fee = d.optAmount()
		case "ids":
			g.IDs = d.fields()
		case "sentAt":
			g.SentAt = d.time()
		case "status":
			g.Status = providers.Status(d.rawString())
		default:
			d.unknown("provider payout", k)
		}
	})
	return g
}

// decodeWire decodes a whole snapshot. The payouts array is split into
// chunks decoded in parallel.
//
// want is the format version expected: state.Version for a whole snapshot,
// state.SegmentedVersion for one batch's segment (which has a "batch" and
// neither lineage, serial nor journal mark: its root holds those).
func decodeWire(data []byte, want int, check func(*state.Payout) []*diag.Error, onPayout func(int, *state.Payout)) (*wire, []*diag.Error, error) {
	if !utf8.Valid(data) {
		return nil, nil, &syntaxError{off: invalidUTF8At(data), msg: "invalid UTF-8"}
	}
	// The bytes are never written after reading, so the string may share
	// them: decoded fields then keep the file's buffer alive instead of
	// copying 600 MB of a large state.
	d := &decoder{data: data, text: unsafe.String(unsafe.SliceData(data), len(data)), check: check, onPayout: onPayout}
	w := &wire{}
	sawVersion := false
	d.object(func(k string) {
		switch k {
		case "version":
			w.Version = int(d.int())
			sawVersion = true
			if w.Version != want {
				// Stop here: a newer format may not parse as this one.
				d.err = errVersion
			}
		case "batch":
			if want != state.SegmentedVersion {
				d.unknown("the state", k)
				return
			}
			w.Batch = d.rawString()
		case "lineage", "serial", "journal":
			if want != state.Version {
				d.unknown("the segment", k)
				return
			}
			d.header(w, k)
		case "groups":
			d.array(func() { w.Groups = append(w.Groups, d.group()) })
		case "payouts":
			w.Payouts = d.payoutsParallel()
		default:
			d.unknown("the state", k)
		}
	})
	if d.err == nil {
		d.ws()
		if d.pos != len(d.data) {
			d.fail("data after the end of the state")
		}
	}
	if d.err == nil && !sawVersion {
		return nil, nil, errNoVersion
	}
	if d.err != nil {
		if d.err == errVersion {
			return w, nil, d.err
		}
		return nil, nil, d.err
	}
	return w, d.probs, nil
}

// header decodes a whole snapshot's lineage, serial or journal mark.
func (d *decoder) header(w *wire, k string) {
	switch k {
	case "lineage":
		w.Lineage = d.rawString()
	case "serial":
		w.Serial = d.uint()
	case "journal":
		d.object(func(k string) {
			switch k {
			case "offset":
				w.Journal.Offset = d.int()
			case "hash":
				w.Journal.Hash = d.rawString()
			default:
				d.unknown("journal", k)
			}
		})
	}
}

var (
	errVersion   = errors.New("version")
	errNoVersion = errors.New("no version")
)

// payoutsParallel decodes the payouts array. One pass finds where each
// element ends (strings and nesting only, no decoding); workers decode
// chunks of elements on every core.
func (d *decoder) payoutsParallel() []*state.Payout {
	if !d.expect('[') {
		return nil
	}
	if d.peek() == ']' {
		d.pos++
		return nil
	}
	if out, end, ok := d.payoutsByLines(); ok {
		d.pos = end
		return out
	}
	return d.payoutsScanned()
}

// chunk is a run of payouts decoded by one worker.
type chunk struct {
	start, end int
	done       chan struct{} // closed when decoded
	out        []*state.Payout
	// probs are the check's problems, by index in out.
	probs map[int][]*diag.Error
	err   error
	// closing is where the array's "]" is, for the chunk holding it.
	closing int
}

// decodeChunks decodes chunks on every core. In a chunk, payouts are
// separated by commas; a chunk not holding the array's end must end with
// a comma, and the one that does ends with "]".
func (d *decoder) decodeChunks(chunks <-chan *chunk) {
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range chunks {
				sub := &decoder{data: d.data[:c.end], text: d.text[:c.end], pos: c.start}
				for {
					sub.ws()
					if sub.pos >= c.end {
						break
					}
					if sub.data[sub.pos] == ']' {
						c.closing = sub.pos
						break
					}
					p := sub.payout()
					if sub.err != nil {
						break
					}
					if d.check != nil {
						if probs := d.check(p); len(probs) > 0 {
							if c.probs == nil {
								c.probs = map[int][]*diag.Error{}
							}
							c.probs[len(c.out)] = probs
						}
					}
					c.out = append(c.out, p)
					switch sub.peek() {
					case ',':
						sub.pos++
						continue
					case ']':
						c.closing = sub.pos
					case 0:
						if sub.pos >= c.end {
							sub.fail("expected ',' or ']' after a payout")
						}
					default:
						sub.fail("expected ',' or ']' after a payout")
					}
					break
				}
				c.err = sub.err
				close(c.done)
			}
		}()
	}
	wg.Wait()
}

// lineChunkSize is about how many bytes of payouts one chunk holds; tests
// shrink it to cut everywhere.
var lineChunkSize = 256 << 10

// payoutsByLines is the fast path for the layout payctl writes, one payout
// per line: chunks are cut where a line starts with "{", found with a byte
// search instead of a scan of every byte. JSON strings cannot hold a raw
// newline, so such a cut can only fall between tokens; a cut inside a
// payout leaves two halves that do not decode, and any problem sends the
// decoder to the full scan, so a file of another layout decodes the same,
// only slower.
func (d *decoder) payoutsByLines() ([]*state.Payout, int, bool) {
	size := lineChunkSize
	var chunks []*chunk
	start := d.pos
	for start < len(d.data) {
		end := len(d.data)
		for at := start + size; at < len(d.data); {
			i := bytes.IndexByte(d.data[at:], '\n')
			if i < 0 {
				break
			}
			at += i + 1
			j := at
			for j < len(d.data) && (d.data[j] == ' ' || d.data[j] == '\t') {
				j++
			}
			if j < len(d.data) && d.data[j] == '{' {
				end = at
				break
			}
		}
		chunks = append(chunks, &chunk{start: start, end: end, closing: -1, done: make(chan struct{})})
		start = end
	}
	if len(chunks) == 0 {
		return nil, 0, false // nothing after "[": the full scan says what is wrong
	}
	work := make(chan *chunk, len(chunks))
	for _, c := range chunks {
		work <- c
	}
	close(work)
	go d.decodeChunks(work)
	// Chunks are taken in order as they finish, so their payouts are
	// handed on (and indexed) while later chunks still decode.
	var out []*state.Payout
	for i, c := range chunks {
		<-c.done
		last := i == len(chunks)-1
		if c.err != nil || (c.closing >= 0) != last {
			for _, rest := range chunks[i+1:] {
				<-rest.done
			}
			d.probs = nil
			return nil, 0, false
		}
		out = d.take(out, c)
	}
	return out, chunks[len(chunks)-1].closing + 1, true
}

// take appends a decoded chunk's payouts, makes its problems' pointers
// absolute, and hands each payout to the decoder's onPayout.
func (d *decoder) take(out []*state.Payout, c *chunk) []*state.Payout {
	for i, p := range c.out {
		for _, e := range c.probs[i] {
			e.Pointer = "/payouts/" + strconv.Itoa(d.taken) + e.Pointer
			d.probs = append(d.probs, e)
		}
		if d.onPayout != nil {
			// The receiver keeps the payouts; the list only counts them.
			d.onPayout(d.taken, p)
		} else {
			out = append(out, p)
		}
		d.taken++
	}
	return out
}

// payoutsScanned finds where each payout ends with a scan of strings and
// nesting, then decodes chunks of them on every core; it serves any
// layout.
func (d *decoder) payoutsScanned() []*state.Payout {
	work := make(chan *chunk, 64)
	done := make(chan struct{})
	go func() {
		d.decodeChunks(work)
		close(done)
	}()
	defer func() { <-done }()
	const perChunk = 1024
	var chunks []*chunk
	cur := &chunk{start: d.pos, closing: -1, done: make(chan struct{})}
	count := 0
	for d.err == nil {
		d.ws()
		d.skipValue()
		count++
		if d.err != nil {
			break
		}
		c := d.peek()
		if c == ',' && count%perChunk != 0 {
			d.pos++
			continue
		}
		if c != ',' && c != ']' {
			d.fail("expected ',' or ']' in the payouts array")
			break
		}
		// A chunk ends after its comma, or after the array's "]".
		d.pos++
		cur.end = d.pos
		chunks = append(chunks, cur)
		work <- cur
		if c == ']' {
			break
		}
		cur = &chunk{start: d.pos, closing: -1, done: make(chan struct{})}
	}
	close(work)
	<-done
	if d.err != nil {
		return nil
	}
	out := make([]*state.Payout, 0, count)
	for _, c := range chunks {
		if c.err != nil {
			d.err = c.err
			return nil
		}
		out = d.take(out, c)
	}
	return out
}

func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// skipValue moves past one JSON value without decoding it; it tracks only
// strings and nesting. The workers check everything else.
func (d *decoder) skipValue() {
	depth := 0
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch c {
		case '"':
			// A quote ends the string unless an odd number of
			// backslashes precedes it.
			d.pos++
			for {
				i := bytes.IndexByte(d.data[d.pos:], '"')
				if i < 0 {
					d.pos = len(d.data)
					break
				}
				d.pos += i + 1
				n := 0
				for j := d.pos - 2; j >= 0 && d.data[j] == '\\'; j-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				d.fail("unexpected %q", c)
				return
			}
			if depth == 0 {
				d.pos++
				return
			}
		case ',', ' ', '\n', '\r', '\t', ':':
			if depth == 0 {
				return
			}
		}
		d.pos++
	}
	if depth != 0 {
		d.fail("unexpected end of data")
	}
}

// decodeError positions a decoder error in the file.
func decodeError(file string, data []byte, err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return &diag.Error{File: file, Pos: offsetPos(data, int64(se.off)), Msg: "not a valid payctl state: " + se.msg}
	}
	return &diag.Error{File: file, Msg: "not a valid payctl state: " + err.Error()}
}

// slab hands out the small objects a payout is made of from larger blocks:
// a state of a million payouts would otherwise make eight million small
// allocations. Every object handed out is distinct; slices are cut with
// their capacity limited, so a later append copies rather than overwrites
// a neighbour.
type slab struct {
	payouts  []state.Payout
	attempts []state.Attempt
	ptrs     []*state.Attempt
	fields   []state.Field
	amounts  []money.Amount
	times    []time.Time
}

const slabSize = 512

// take hands out the next object of a slab, starting a new block when
// the current one is used up.
func take[T any](pool *[]T) *T {
	if len(*pool) == 0 {
		*pool = make([]T, slabSize)
	}
	p := &(*pool)[0]
	*pool = (*pool)[1:]
	return p
}

func (s *slab) payout() *state.Payout   { return take(&s.payouts) }
func (s *slab) attempt() *state.Attempt { return take(&s.attempts) }

// attemptList returns a list holding one attempt, room for no more.
func (s *slab) attemptList(a *state.Attempt) []*state.Attempt {
	if len(s.ptrs) == 0 {
		s.ptrs = make([]*state.Attempt, slabSize)
	}
	l := s.ptrs[0:1:1]
	s.ptrs = s.ptrs[1:]
	l[0] = a
	return l
}

func (s *slab) fieldList(f []state.Field) state.Fields {
	if len(f) > len(s.fields) {
		if len(f) > slabSize/4 {
			return append(state.Fields(nil), f...)
		}
		s.fields = make([]state.Field, slabSize)
	}
	out := s.fields[0:len(f):len(f)]
	s.fields = s.fields[len(f):]
	copy(out, f)
	return out
}

func (s *slab) amount(a money.Amount) *money.Amount {
	p := take(&s.amounts)
	*p = a
	return p
}

func (s *slab) time(t time.Time) *time.Time {
	p := take(&s.times)
	*p = t
	return p
}
