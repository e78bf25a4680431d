package tabular

import (
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/safetext"
)

// FuzzCSV feeds the CSV reader arbitrary bytes: it must never panic, every
// error must have a position inside the file or none, and every value it
// hands over must be text that was in the file and that safetext accepts.
func FuzzCSV(f *testing.F) {
	f.Add([]byte("batch,b\nprovider,p\ncurrency,IDR\nid,amount,recipient.name,recipient.account\na,1,A,01\n"))
	f.Add([]byte("\xef\xbb\xbfid,amount,recipient.name,recipient.account\r\n\"a,\"\"b\",1,\"x\ny\",2\r\n"))
	f.Add([]byte("batch,b\nbatch,c\n# c\n,,\nid,id,metadata.,x\n\"unterminated"))
	f.Add([]byte("\xff\xfe\x00a"))
	imp := &Import{Match: "*.csv", Provider: "p", Currency: "USD", Batch: "b-{P}", Columns: map[string]string{"N": "recipient.name"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		for _, im := range []*Import{nil, imp} {
			calls, last := 0, -1
			var texts []string
			root, n, errs := Decode("f.csv", data, 1<<20, im, func(i int, n *doc.Node) {
				// A row with a cell that cannot be read is not handed
				// over (its index is skipped); the others in order.
				if i <= last {
					t.Fatalf("item %d handed over after %d", i, last)
				}
				calls, last = calls+1, i
				if n.Kind != doc.Mapping || len(n.Kids) == 0 {
					t.Fatalf("a payout that is not a mapping of values: %+v", n)
				}
				texts = collect(texts, n)
			})
			for _, e := range errs {
				if e.Pos.IsValid() && (e.Pos.Line > lines || e.Pos.Col < 1) {
					t.Fatalf("error outside the file (%d lines): %v", lines, e)
				}
				if e.Msg == "" && e.More == 0 {
					t.Fatalf("error without a message: %#v", e)
				}
			}
			if len(errs) > 0 {
				if root != nil || n != 0 {
					t.Fatalf("errors and a batch: %v", errs)
				}
				continue
			}
			if root == nil || n != calls || n == 0 || last != n-1 {
				t.Fatalf("no errors, root %v, %d payouts, %d handed over", root, n, calls)
			}
			// Whatever was accepted is text safetext lets through: no
			// control or bidirectional character reaches a plan.
			for _, s := range texts {
				if _, r, bad := safetext.Find(s); bad {
					t.Fatalf("accepted %q holding %U", s, r)
				}
			}
		}
	})
}

func collect(out []string, n *doc.Node) []string {
	out = append(out, n.Key, n.Text)
	for i := range n.Kids {
		out = collect(out, &n.Kids[i])
	}
	return out
}
