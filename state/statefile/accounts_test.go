package statefile

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

func TestAccountsRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 2, 500, time.UTC)
	r1 := providers.Recipient{Name: "Ana \"Q\" <Ñ>", BankCode: "014", Account: "0821 8371"}
	r2 := providers.Recipient{ID: "v-7", Name: "Acme\u2028", Bank: "First", Country: "US", Account: "12-34"}
	es := []*state.AccountEntry{
		{Who: state.RecipientKey(r1), Account: state.AccountKey(r1), Address: "b/1", At: at, Recipient: r1},
		{Who: state.RecipientKey(r2), Account: state.AccountKey(r2), Address: "b/2", At: at.Add(time.Hour), Recipient: r2},
	}
	state.SortAccounts(es)
	var b bytes.Buffer
	if err := WriteAccounts(&b, es); err != nil {
		t.Fatal(err)
	}
	got, err := ParseAccounts("a", b.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, es) {
		t.Fatalf("round trip:\n%+v\n%+v", got, es)
	}
	only, err := ParseAccounts("a", b.Bytes(), func(who, _ string) bool { return who == "id:v-7" })
	if err != nil || len(only) != 1 || only[0].Address != "b/2" {
		t.Fatalf("kept %+v, %v", only, err)
	}
	var again bytes.Buffer
	WriteAccounts(&again, got)
	if !bytes.Equal(again.Bytes(), b.Bytes()) {
		t.Fatalf("not canonical:\n%s\n%s", again.Bytes(), b.Bytes())
	}
	for _, tc := range []struct{ name, data, want string }{
		{"unknown field", strings.Replace(b.String(), `"who"`, `"extra":1,"who"`, 1), `unknown field "extra"`},
		{"version", strings.Replace(b.String(), `"version": 2`, `"version": 3`, 1), "format version 3"},
		{"truncated", b.String()[:b.Len()/2], "a:"},
		{"incomplete", strings.Replace(b.String(), `"address":"b/1"`, `"address":""`, 1), "incomplete account entry"},
	} {
		if _, err := ParseAccounts("a", []byte(tc.data), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
