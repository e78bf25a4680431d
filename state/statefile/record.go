package statefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/payctl/payctl/state"
)

// A journal record is one line of JSON: the event's fields followed by
//
//	,"hash":"<64 lower hex>"}
//
// where the hash is SHA-256 of every byte of the line before that suffix.
// Since the event carries the previous record's hash ("prev"), the records
// form a chain: editing, dropping or reordering any record breaks it.

const hashSuffixLen = len(`,"hash":"`) + 64 + len(`"}`)

// Encode hashes e (whose Seq and Prev are set) into a record. Every
// backend stores records made here (see state.Backend's Encode).
func Encode(e *state.Event) (state.Record, error) {
	bp := scratch.Get().(*[]byte)
	defer scratch.Put(bp)
	body, ok := appendEventBody((*bp)[:0], e)
	*bp = body[:0]
	if !ok {
		return encodeReflect(e)
	}
	return seal(e, body), nil
}

// scratch holds buffers records are encoded into before they are copied
// into a line of their exact size.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// seal makes the record of body, e's encoding without its closing brace.
func seal(e *state.Event, body []byte) state.Record {
	sum := sha256.Sum256(body)
	line := make([]byte, len(body), len(body)+hashSuffixLen+1)
	copy(line, body)
	line = append(line, `,"hash":"`...)
	line = hex.AppendEncode(line, sum[:])
	h := string(line[len(body)+len(`,"hash":"`):])
	line = append(line, "\"}\n"...)
	return state.Record{Seq: e.Seq, Kind: e.Kind, Hash: h, Line: line}
}

// encodeReflect is Encode through encoding/json: the reference the hand
// written encoder is tested against, and its fallback for values
// encoding/json refuses (it returns the error).
func encodeReflect(e *state.Event) (state.Record, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return state.Record{}, fmt.Errorf("encode journal record %d: %w", e.Seq, err)
	}
	return seal(e, bytes.TrimSuffix(buf.Bytes(), []byte("}\n"))), nil
}

// errBadHash marks a record whose own hash does not match its bytes.
var errBadHash = errors.New("hash does not match the record's bytes")

// Decode verifies a record's own hash and decodes it. line has no newline.
func Decode(line []byte) (*state.Event, error) {
	if len(line) < hashSuffixLen+2 || line[0] != '{' {
		return nil, errors.New("not a journal record")
	}
	body := line[:len(line)-hashSuffixLen]
	suffix := line[len(line)-hashSuffixLen:]
	if !bytes.HasPrefix(suffix, []byte(`,"hash":"`)) || !bytes.HasSuffix(suffix, []byte(`"}`)) {
		return nil, errors.New("record does not end with its hash")
	}
	h := string(suffix[len(`,"hash":"`) : len(suffix)-2])
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != h {
		return nil, errBadHash
	}
	if e, ok := decodeEvent(body); ok {
		e.Hash = h
		return e, nil
	}
	var e state.Event
	d := json.NewDecoder(bytes.NewReader(append(append([]byte{}, body...), '}')))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		return nil, fmt.Errorf("record does not decode: %w", err)
	}
	e.Hash = h
	return &e, nil
}
