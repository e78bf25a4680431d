package sshsig

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/payctl/payctl/internal/doc"
)

// MaxAllowedSignersSize caps an allowed_signers file.
const MaxAllowedSignersSize = 1 << 20

// AllowedSigners is a parsed allowed_signers file (ssh-keygen(1), "ALLOWED
// SIGNERS"): who may sign, with which key, for which namespaces, when.
//
// There is no revocation list: removing a key's line (or giving it a
// valid-before date) revokes it, for every plan verified from then on.
type AllowedSigners struct {
	File  string
	Lines []*AllowedSigner
}

// AllowedSigner is one line of an allowed_signers file.
type AllowedSigner struct {
	Line int
	// Principals as written: USER@DOMAIN identities or patterns. The
	// first one names the approver.
	Principals []string
	Key        ssh.PublicKey
	// Namespaces is the namespaces= pattern list ("" when absent: any).
	Namespaces string
	// ValidAfter and ValidBefore are zero when absent; the Text fields
	// keep them as written.
	ValidAfter, ValidBefore         time.Time
	ValidAfterText, ValidBeforeText string
}

// LoadAllowedSigners reads and parses an allowed_signers file.
func LoadAllowedSigners(path string) (*AllowedSigners, error) {
	data, err := readCapped(path, MaxAllowedSignersSize)
	if err != nil {
		return nil, err
	}
	return ParseAllowedSigners(path, data)
}

// readCapped reads path, refusing a file larger than max bytes, and a named
// pipe or device, which could block or never end.
func readCapped(path string, max int64) ([]byte, error) {
	data, derr := doc.ReadFile(path, int(max))
	if derr != nil {
		return nil, derr
	}
	return data, nil
}

// ParseAllowedSigners parses an allowed_signers file. Each line is
// "PRINCIPALS [OPTIONS] KEYTYPE BASE64KEY [COMMENT]"; blank lines and
// lines starting with # are skipped. Options are namespaces="LIST",
// valid-after="TIME" and valid-before="TIME" (TIME is YYYYMMDD[Z] or
// YYYYMMDDHHMM[SS][Z], local time unless Z, as OpenSSH reads them);
// cert-authority is refused (certificates are not supported). Errors are
// "FILE:LINE: ...".
func ParseAllowedSigners(file string, data []byte) (*AllowedSigners, error) {
	a := &AllowedSigners{File: file}
	var errs []error
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSignerLine(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", file, i+1, err))
			if len(errs) == 10 {
				break
			}
			continue
		}
		s.Line = i + 1
		a.Lines = append(a.Lines, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// field cuts the first space-separated field of s, where double quotes
// protect spaces.
func field(s string) (f, rest string, err error) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case (c == ' ' || c == '\t') && !quoted:
			return s[:i], strings.TrimLeft(s[i:], " \t"), nil
		}
	}
	if quoted {
		return "", "", errors.New("unterminated double quote")
	}
	return s, "", nil
}

func parseSignerLine(line string) (*AllowedSigner, error) {
	s := &AllowedSigner{}
	principals, rest, err := field(line)
	if err != nil {
		return nil, err
	}
	if p, ok := strings.CutPrefix(principals, `"`); ok {
		principals = strings.TrimSuffix(p, `"`)
	}
	for _, p := range strings.Split(principals, ",") {
		if p == "" {
			return nil, fmt.Errorf("empty principal in %q", principals)
		}
		s.Principals = append(s.Principals, p)
	}
	if rest == "" {
		return nil, errors.New("no key after the principals (want: PRINCIPALS [OPTIONS] KEYTYPE BASE64KEY)")
	}
	f1, after, err := field(rest)
	if err != nil {
		return nil, err
	}
	if !looksLikeKeyType(f1) {
		if err := s.parseOptions(f1); err != nil {
			return nil, err
		}
		rest = after
	}
	if s.Key, err = parseKey(rest); err != nil {
		return nil, err
	}
	return s, nil
}

// looksLikeKeyType tells a key type field from an options field.
func looksLikeKeyType(f string) bool {
	return !strings.ContainsAny(f, `=",`) && (strings.HasPrefix(f, "ssh-") || strings.HasPrefix(f, "ecdsa-") ||
		strings.HasPrefix(f, "sk-") || strings.HasPrefix(f, "rsa-") || strings.Contains(f, "@"))
}

func parseKey(s string) (ssh.PublicKey, error) {
	typ, rest, _ := field(s)
	b64, _, _ := field(rest)
	if typ == "" || b64 == "" {
		return nil, errors.New("no key (want: PRINCIPALS [OPTIONS] KEYTYPE BASE64KEY)")
	}
	if typ == "cert-authority" || strings.Contains(typ, "-cert-") {
		return nil, errors.New("certificates are not supported: list the signer's own key")
	}
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("bad key: %s key is not base64", typ)
	}
	k, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, fmt.Errorf("bad key: %s key does not parse: %v", typ, err)
	}
	if _, ok := k.(*ssh.Certificate); ok {
		return nil, errors.New("certificates are not supported: list the signer's own key")
	}
	if k.Type() != typ {
		return nil, fmt.Errorf("bad key: the key is a %s key, not %s", k.Type(), typ)
	}
	return k, nil
}

func (s *AllowedSigner) parseOptions(opts string) error {
	for opts != "" {
		var opt string
		quoted := false
		i := 0
		for ; i < len(opts); i++ {
			if opts[i] == '"' {
				quoted = !quoted
			} else if opts[i] == ',' && !quoted {
				break
			}
		}
		opt, opts = opts[:i], opts[min(i+1, len(opts)):]
		name, value, hasValue := strings.Cut(opt, "=")
		name = strings.ToLower(name)
		unquote := func() (string, error) {
			if !hasValue {
				return "", fmt.Errorf("option %s needs a value (%s=\"...\")", name, name)
			}
			v, ok := strings.CutPrefix(value, `"`)
			if !ok || !strings.HasSuffix(v, `"`) || len(v) == 0 {
				return "", fmt.Errorf("option %s: the value must be in double quotes, as OpenSSH requires (%s=\"%s\")", name, name, strings.Trim(value, `"`))
			}
			return strings.TrimSuffix(v, `"`), nil
		}
		var err error
		switch name {
		case "cert-authority":
			return errors.New("cert-authority: certificates are not supported: list each signer's own key")
		case "namespaces":
			if s.Namespaces, err = unquote(); err != nil {
				return err
			}
		case "valid-after", "valid-before":
			v, err := unquote()
			if err != nil {
				return err
			}
			t, err := parseTime(v)
			if err != nil {
				return fmt.Errorf("option %s: %v", name, err)
			}
			if name == "valid-after" {
				s.ValidAfter, s.ValidAfterText = t, v
			} else {
				s.ValidBefore, s.ValidBeforeText = t, v
			}
		case "":
			return errors.New("empty option")
		default:
			return fmt.Errorf("unknown option %q (allowed: namespaces, valid-after, valid-before)", name)
		}
	}
	return nil
}

// parseTime reads an OpenSSH absolute time: YYYYMMDD, YYYYMMDDHHMM or
// YYYYMMDDHHMMSS, in local time unless suffixed with Z (UTC).
func parseTime(v string) (time.Time, error) {
	loc := time.Local
	s := v
	if t, ok := strings.CutSuffix(s, "Z"); ok {
		s, loc = t, time.UTC
	}
	var layout string
	switch len(s) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			layout = ""
		}
	}
	if layout == "" {
		return time.Time{}, fmt.Errorf("bad date %q (want YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z])", v)
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad date %q: %v", v, err)
	}
	return t, nil
}

// showTime renders an option's time for a message.
func showTime(t time.Time, text string) string {
	utc := strings.HasSuffix(text, "Z")
	layout := "2006-01-02 15:04:05"
	switch len(strings.TrimSuffix(text, "Z")) {
	case 8:
		layout = "2006-01-02"
	case 12:
		layout = "2006-01-02 15:04"
	}
	if utc {
		return t.Format(layout) + " UTC"
	}
	return t.Format(layout)
}

// Signer finds who key k belongs to: the first line, in file order, that
// lists k, allows namespace ns and is valid at t. It returns that line's
// first principal (the approver's identity, returned as written, even if
// it is a pattern) and its line number. When k is
// listed but no line of it allows ns at t, the error says why, naming the
// first such line; when k is not listed, the error gives its fingerprint.
func (a *AllowedSigners) Signer(k ssh.PublicKey, ns string, t time.Time) (principal string, line int, err error) {
	if a == nil {
		return "", 0, fmt.Errorf("key %s: no allowed signers file", Describe(k))
	}
	if _, ok := k.(*ssh.Certificate); ok {
		return "", 0, errors.New("certificates are not supported")
	}
	want := k.Marshal()
	var first error
	for _, s := range a.Lines {
		if !bytes.Equal(s.Key.Marshal(), want) {
			continue
		}
		where := fmt.Sprintf("%s's key (%s:%d)", s.Principals[0], a.File, s.Line)
		var why error
		switch {
		case s.Namespaces != "" && !matchList(ns, s.Namespaces):
			why = fmt.Errorf("%s is not allowed to sign for namespace %q (namespaces=%q)", where, ns, s.Namespaces)
		case !s.ValidAfter.IsZero() && t.Before(s.ValidAfter):
			why = fmt.Errorf("%s is not valid before %s (valid-after)", where, showTime(s.ValidAfter, s.ValidAfterText))
		case !s.ValidBefore.IsZero() && t.After(s.ValidBefore):
			why = fmt.Errorf("%s expired on %s (valid-before)", where, showTime(s.ValidBefore, s.ValidBeforeText))
		default:
			return s.Principals[0], s.Line, nil
		}
		if first == nil {
			first = why
		}
	}
	if first != nil {
		return "", 0, first
	}
	return "", 0, fmt.Errorf("key %s is not in %s", Describe(k), a.File)
}

// matchList matches s against an OpenSSH pattern list: comma-separated
// patterns with * and ?, a leading ! negating one. A negated match wins.
func matchList(s, list string) bool {
	matched := false
	for _, p := range strings.Split(list, ",") {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if matchPattern(s, p) {
			if neg {
				return false
			}
			matched = true
		}
	}
	return matched
}

// matchPattern matches s against a pattern of * (any run) and ? (any one
// byte), as OpenSSH's match_pattern.
func matchPattern(s, p string) bool {
	// Iterative wildcard matching with backtracking to the last *.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
