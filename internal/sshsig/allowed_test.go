package sshsig

import (
	"crypto/ed25519"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func testKey(t testing.TB, seed byte) ssh.PublicKey {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(s).Public())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func authorized(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestParseAllowedSigners(t *testing.T) {
	k1, k2, k3 := testKey(t, 1), testKey(t, 2), testKey(t, 3)
	data := "# approvers of payouts\n" +
		"\n" +
		"alice@example.com,alice@old.example " + authorized(k1) + " alice's laptop\n" +
		`bob@example.com NameSpaces="payctl,file",valid-after="20260101",valid-before="20261130Z" ` + authorized(k2) + "\n" +
		`"carol@example.com" namespaces="git" ` + authorized(k3) + "\n" +
		`carol@example.com namespaces="pay*,!payctl-test" ` + authorized(k3) + "\n"
	a, err := ParseAllowedSigners("allowed_signers", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Lines) != 4 {
		t.Fatalf("%d lines", len(a.Lines))
	}
	if got := a.Lines[0].Principals; len(got) != 2 || got[1] != "alice@old.example" {
		t.Errorf("principals %q", got)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		k    ssh.PublicKey
		ns   string
		t    time.Time
		want string // principal:line or an error's text
	}{
		{k1, Namespace, now, "alice@example.com:3"},
		{k2, Namespace, now, "bob@example.com:4"},
		{k2, "git", now, `bob@example.com's key (allowed_signers:4) is not allowed to sign for namespace "git" (namespaces="payctl,file")`},
		{k2, Namespace, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "bob@example.com's key (allowed_signers:4) expired on 2026-11-30 UTC (valid-before)"},
		{k2, Namespace, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), "bob@example.com:4"},
		{k2, Namespace, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), "bob@example.com's key (allowed_signers:4) is not valid before 2026-01-01 (valid-after)"},
		{k3, Namespace, now, "carol@example.com:6"}, // line 5 is for git only
		{k3, "payctl-test", now, `carol@example.com's key (allowed_signers:5) is not allowed to sign for namespace "payctl-test" (namespaces="git")`},
		{testKey(t, 4), Namespace, now, "key ssh-ed25519 " + ssh.FingerprintSHA256(testKey(t, 4)) + " is not in allowed_signers"},
	} {
		p, line, err := a.Signer(c.k, c.ns, c.t)
		got := p + ":" + strconv.Itoa(line)
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("Signer(%s, %s, %s) = %s; want %s", Fingerprint(c.k), c.ns, c.t.Format(time.DateOnly), got, c.want)
		}
	}
}

func TestParseAllowedSignersErrors(t *testing.T) {
	k := authorized(testKey(t, 1))
	for _, c := range []struct{ line, want string }{
		{"alice@example.com", "f:2: no key after the principals"},
		{"alice@example.com cert-authority " + k, "f:2: cert-authority: certificates are not supported"},
		{"alice@example.com foo=\"x\" " + k, `f:2: unknown option "foo"`},
		{"alice@example.com valid-before=\"2026\" " + k, `f:2: option valid-before: bad date "2026"`},
		{"alice@example.com valid-before=\"20261341\" " + k, `f:2: option valid-before: bad date "20261341"`},
		{"alice@example.com valid-before=20261130 " + k, `f:2: option valid-before: the value must be in double quotes`},
		{"alice@example.com namespaces=\"payctl " + k, `f:2: unterminated double quote`},
		{"alice@example.com ssh-ed25519 AAAA!!", `f:2: bad key: ssh-ed25519 key is not base64`},
		{"alice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", `f:2: bad key: ssh-ed25519 key does not parse`},
		{"alice@example.com ssh-rsa " + strings.Fields(k)[1], `f:2: bad key: the key is a ssh-ed25519 key, not ssh-rsa`},
		{"alice@example.com,,bob " + k, `f:2: empty principal`},
	} {
		_, err := ParseAllowedSigners("f", []byte("# c\n"+c.line+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want %q", c.line, err, c.want)
		}
	}
}

func TestParseTimeLocal(t *testing.T) {
	got, err := parseTime("202611301200")
	if err != nil || !got.Equal(time.Date(2026, 11, 30, 12, 0, 0, 0, time.Local)) {
		t.Errorf("parseTime local = %v, %v", got, err)
	}
	got, err = parseTime("20261130120005Z")
	if err != nil || !got.Equal(time.Date(2026, 11, 30, 12, 0, 5, 0, time.UTC)) {
		t.Errorf("parseTime UTC = %v, %v", got, err)
	}
}

func TestMatchList(t *testing.T) {
	for _, c := range []struct {
		s, list string
		want    bool
	}{
		{"payctl", "payctl", true},
		{"payctl", "git,file", false},
		{"payctl", "pay*", true},
		{"payctl", "pay?tl", true},
		{"payctl", "p*c*l", true},
		{"payctl", "*,!payctl", false},
		{"payctl", "!git", false},
		{"payctl", "Payctl", false},
		{"", "*", true},
	} {
		if got := matchList(c.s, c.list); got != c.want {
			t.Errorf("matchList(%q, %q) = %v", c.s, c.list, got)
		}
	}
}

func FuzzParseAllowedSigners(f *testing.F) {
	k := authorized(testKey(f, 1))
	f.Add([]byte("alice@example.com " + k + "\n"))
	f.Add([]byte(`bob namespaces="payctl",valid-after="20260101",valid-before="20261130Z" ` + k + "\n# c\n"))
	f.Add([]byte(`"a b" cert-authority ` + k))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAllowedSigners("f", data)
		if err != nil {
			return
		}
		a.Signer(testKey(t, 1), Namespace, time.Now())
	})
}
