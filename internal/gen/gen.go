// Package gen writes large, realistic, valid payout manifests for
// benchmarks and load tests. The same seed gives the same bytes.
//
// A generated batch is valid for a Cronos provider: IDR, whole amounts,
// bankCode "014", 10 to 16 digit accounts (some with leading zeros, which
// must survive decoding), and recipient names from several scripts
// (Indonesian, accented Latin, Vietnamese, Chinese), since encoders and
// signers treat non-ASCII text differently.
package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// Options shape a generated batch. Zero values get defaults.
type Options struct {
	Seed     uint64
	Name     string // metadata.name; default "generated"
	Provider string // spec.provider; default "idr-main"
}

var (
	firstNames = []string{
		"Siti", "Dewi", "Budi", "Agus", "Putu", "Wayan", "Ketut", "Made", "Ahmad", "Nur",
		"Rizky", "Indah", "Bambang", "Sri", "Yohanes", "José", "Zoë", "Renée", "Łukasz",
		"Søren", "Jürgen", "Chloé", "Ayşe", "Thảo", "Minh", "伟", "秀英", "Ñusta", "Kevin", "Anna",
	}
	lastNames = []string{
		"Tan", "Lim", "Wijaya", "Santoso", "Halim", "Saputra", "Kusuma", "Hartono", "Siregar",
		"Nasution", "Pérez", "O'Brien", "Nguyễn", "Trần", "Øster", "Müller", "李", "王", "Gómez", "Lee",
	}
)

// Manifest writes an n-payout batch in format "json" or "yaml".
func Manifest(w io.Writer, n int, format string, o Options) error {
	if n < 0 {
		return fmt.Errorf("gen: negative payout count %d", n)
	}
	if o.Name == "" {
		o.Name = "generated"
	}
	if o.Provider == "" {
		o.Provider = "idr-main"
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch format {
	case "json":
		err = writeJSON(bw, n, o, rng)
	case "yaml":
		err = writeYAML(bw, n, o, rng)
	default:
		return fmt.Errorf("gen: unknown format %q: use json or yaml", format)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

type payout struct {
	id, amount, name, account string
}

func next(rng *rand.Rand, i int) payout {
	// Amounts from 10 000 to 50 000 000 IDR in steps of 500, the way
	// payroll amounts look.
	amount := 10000 + 500*rng.IntN(99_981)
	digits := 10 + rng.IntN(7)
	acct := make([]byte, digits)
	for j := range acct {
		acct[j] = byte('0' + rng.IntN(10))
	}
	if rng.IntN(5) == 0 {
		acct[0] = '0'
	} else if acct[0] == '0' {
		acct[0] = '1'
	}
	return payout{
		id:      fmt.Sprintf("p%07d", i+1),
		amount:  strconv.Itoa(amount),
		name:    firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))],
		account: string(acct),
	}
}

func writeJSON(w *bufio.Writer, n int, o Options, rng *rand.Rand) error {
	var b []byte
	b = append(b, "{\n  \"apiVersion\": \"payctl/v1\",\n  \"kind\": \"PayoutBatch\",\n  \"metadata\": {\"name\": "...)
	b = quote(b, o.Name)
	b = append(b, "},\n  \"spec\": {\n    \"provider\": "...)
	b = quote(b, o.Provider)
	b = append(b, ",\n    \"currency\": \"IDR\",\n    \"payouts\": ["...)
	if _, err := w.Write(b); err != nil {
		return err
	}
	for i := range n {
		p := next(rng, i)
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n      {\"id\": "...)
		b = quote(b, p.id)
		b = append(b, ", \"amount\": "...)
		b = quote(b, p.amount)
		b = append(b, ", \"recipient\": {\"name\": "...)
		b = quote(b, p.name)
		b = append(b, ", \"bankCode\": \"014\", \"account\": "...)
		b = quote(b, p.account)
		b = append(b, "}}"...)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err := w.WriteString("\n    ]\n  }\n}\n")
	return err
}

func writeYAML(w *bufio.Writer, n int, o Options, rng *rand.Rand) error {
	var b []byte
	b = append(b, "# yaml-language-server: $schema=https://payctl.dev/schema/payout-batch.schema.json\napiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: "...)
	b = quote(b, o.Name)
	b = append(b, "\nspec:\n  provider: "...)
	b = quote(b, o.Provider)
	b = append(b, "\n  currency: IDR\n  payouts:\n"...)
	if _, err := w.Write(b); err != nil {
		return err
	}
	for i := range n {
		p := next(rng, i)
		b = b[:0]
		b = append(b, "    - id: "...)
		b = quote(b, p.id)
		b = append(b, "\n      amount: "...)
		b = quote(b, p.amount)
		b = append(b, "\n      recipient:\n        name: "...)
		b = quote(b, p.name)
		b = append(b, "\n        bankCode: \"014\"\n        account: "...)
		b = quote(b, p.account)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// quote writes s as a double-quoted string that JSON and YAML read the
// same way: non-ASCII text as is, only quotes, backslashes and control
// characters escaped.
func quote(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
