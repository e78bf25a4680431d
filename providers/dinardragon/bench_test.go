package dinardragon

import (
	"fmt"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/money"
)

// BenchmarkQuoteBody writes a get-authcode body of DefaultMaxBatch accounts.
func BenchmarkQuoteBody(b *testing.B) {
	accounts := make([]account, DefaultMaxBatch)
	total := money.FromInt64(0)
	for i := range accounts {
		a := money.MustParse(fmt.Sprintf("%d.%02d", 100+i, i))
		accounts[i] = account{Acc: fmt.Sprint(100000000 + i), Amount: a, Bank: "Bank of America", Country: "US", Name: fmt.Sprintf("Recipient %d", i)}
		total = total.Add(a)
	}
	b.ReportAllocs()
	for b.Loop() {
		quoteBody(total, accounts)
	}
}

// BenchmarkParseExecuteAnswer parses an execute answer of DefaultMaxBatch
// accounts.
func BenchmarkParseExecuteAnswer(b *testing.B) {
	var accs []string
	for i := range DefaultMaxBatch {
		accs = append(accs, fmt.Sprintf(`{"accNo":%d,"amount":%d.%02d,"bank":"Bank of America","country":"US","recipientname":"Recipient %d","date":"2025-01-31","time":"14:35","email":"r%d@example.com","uniqueid":"%016x"}`,
			100000000+i, 100+i, i, i, i, i))
	}
	body := []byte(executeJSON(strings.Join(accs, ",")))
	if _, err := parseExecuteAnswer(body); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		parseExecuteAnswer(body)
	}
}
