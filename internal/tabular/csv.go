package tabular

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
)

// saveAsUTF8 ends every encoding error: what to do in the program that
// wrote the file.
const saveAsUTF8 = "save it again as \"CSV UTF-8 (Comma delimited)\" (Excel: File > Save As; LibreOffice: character set Unicode (UTF-8))"

type csvSource struct {
	file string
	r    *csv.Reader
	row  int
	buf  []cell
	err  diag.List
}

// openCSV checks the encoding of a CSV file and returns its rows. A
// UTF-8 byte order mark is dropped (Excel writes one); a UTF-16 or UTF-32
// one, or bytes that are not UTF-8 (Windows-1252, Latin-1: a name such
// as "Müller" would be read as other characters), is an error.
func openCSV(file string, data []byte) (source, diag.List) {
	at := diag.Pos{Line: 1, Col: 1}
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}):
		return nil, diag.List{diag.Errorf(file, at, "the file is UTF-16 or UTF-32 (\"Unicode text\"), not UTF-8; %s", saveAsUTF8)}
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, diag.List{diag.Errorf(file, doc.PosAt(data, off), "the file is not UTF-8 (byte 0x%02x at offset %d; Excel's plain \"CSV\" is Windows-1252); %s", data[off], off, saveAsUTF8)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, diag.List{diag.Errorf(file, at, "file is empty; it needs a row of column names (%s) and a row per payout", joinRequired())}
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, diag.List{diag.Errorf(file, doc.PosAt(data, i), "the file holds a NUL byte at offset %d: it is not a text file; %s", i, saveAsUTF8)}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return &csvSource{file: file, r: r}, nil
}

func (s *csvSource) next() ([]cell, int, bool) {
	if s.err != nil {
		return nil, s.row, false
	}
	rec, err := s.r.Read()
	if err == io.EOF {
		return nil, s.row, false
	}
	s.row++
	if err == nil {
		// A row is numbered by the line it starts on: what an editor
		// shows, and what a spreadsheet shows unless a cell above holds
		// a line break (blank lines are rows in both, not records).
		s.row, _ = s.r.FieldPos(0)
	}
	if err != nil {
		var pe *csv.ParseError
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = fmt.Sprintf("%v (line %d, character %d of the file)", pe.Err, pe.Line, pe.Column)
		}
		s.err = diag.List{diag.Errorf(s.file, diag.Pos{Line: s.row, Col: 1}, "malformed CSV: %s; a field holding a comma, quote or line break must be enclosed in double quotes, with each quote inside written twice (\"\")", msg)}
		return nil, s.row, false
	}
	s.buf = s.buf[:0]
	for _, f := range rec {
		s.buf = append(s.buf, cell{text: f})
	}
	return s.buf, s.row, true
}

func (s *csvSource) errs() diag.List { return s.err }

func joinRequired() string {
	var b bytes.Buffer
	for i, f := range required {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f)
	}
	return b.String()
}
