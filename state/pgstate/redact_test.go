package pgstate

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// FuzzRedact: whatever the password, and however an error quotes the
// connection string, the message that reaches the user does not hold the
// password.
func FuzzRedact(f *testing.F) {
	f.Add("s3cret-Pa55word", 0)
	f.Add("p@ss:w/rd?x=1&y", 1)
	f.Add("pässwörd 'quoted'", 2)
	f.Add("%41%42%43", 3)
	f.Fuzz(func(t *testing.T, pw string, form int) {
		if len(pw) < 3 || strings.ContainsAny(pw, "\x00\n") || strings.Trim(pw, "x") == "" {
			return // too short to redact, not a DSN, or the redaction mark itself
		}
		dsns := []string{
			"postgres://payctl:" + url.QueryEscape(pw) + "@db.example:5432/payctl?sslmode=require",
			"postgres://" + url.UserPassword("payctl", pw).String() + "@db.example/payctl",
			"host=db.example user=payctl password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "' dbname=payctl",
			"postgres://payctl@db.example/payctl?password=" + url.QueryEscape(pw),
		}
		dsn := dsns[(form%len(dsns)+len(dsns))%len(dsns)]
		b := &Backend{name: "s", dsn: dsn}
		for _, inner := range []error{
			errors.New("cannot parse `" + dsn + "`: bad"),
			fmt.Errorf("server said: password %s rejected", pw),
			errors.Join(errors.New("dial"), errors.New(dsn)),
		} {
			got := b.redact(fmt.Errorf("connect: %w", inner)).Error()
			if u, err := url.Parse(dsn); err == nil && u.User != nil {
				if p, _ := u.User.Password(); p != pw {
					continue // this form does not carry pw verbatim
				}
			}
			if strings.Contains(got, pw) {
				t.Fatalf("password %q in %q", pw, got)
			}
		}
	})
}
