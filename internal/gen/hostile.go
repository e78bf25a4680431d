package gen

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// HostileKinds are the kinds of file Hostile writes.
var HostileKinds = []string{"yaml-list", "yaml-deep", "json-list", "json-deep", "yaml-bad-payouts"}

// Hostile writes about size bytes of input that a careless decoder pays
// for dearly:
//
//   - yaml-list, json-list: one flat list "[1,1,1,…]" (a node per two bytes);
//   - yaml-deep, json-deep: "[[[[…" nested size levels deep;
//   - yaml-bad-payouts: a valid batch header and payouts whose amounts are
//     all numbers instead of strings, one error each.
func Hostile(w io.Writer, kind string, size int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	switch kind {
	case "yaml-list", "json-list":
		bw.WriteByte('[')
		for i := 1; i+2 < size; i += 2 {
			bw.WriteString("1,")
		}
		bw.WriteString("1]\n")
	case "yaml-deep", "json-deep":
		for range size {
			bw.WriteByte('[')
		}
	case "yaml-bad-payouts":
		bw.WriteString("apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: hostile\nspec:\n  provider: idr-main\n  currency: IDR\n  payouts:\n")
		n := 8 * 13 * 10 // the header, roughly
		for i := 0; n < size; i++ {
			s := fmt.Sprintf("    - {id: p%d, amount: 100, recipient: {name: A, bankCode: \"014\", account: \"1234567890\"}}\n", i)
			bw.WriteString(s)
			n += len(s)
		}
	default:
		return fmt.Errorf("unknown kind %q; want one of %s", kind, strings.Join(HostileKinds, ", "))
	}
	return bw.Flush()
}
