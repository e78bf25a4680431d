package sshsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/payctl/payctl/internal/sshsig/sshsigtest"
)

func keygen(t *testing.T) string { return sshsigtest.Keygen(t) }

func run(t *testing.T, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// newKey makes a key with ssh-keygen and returns its private key file.
func newKey(t *testing.T, dir, name string, typeAndBits ...string) string {
	t.Helper()
	bin := keygen(t)
	path := filepath.Join(dir, name)
	args := append([]string{"-q", "-N", "", "-C", name, "-f", path, "-t"}, typeAndBits...)
	if out, err := run(t, nil, bin, args...); err != nil {
		t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
	}
	return path
}

func loadSigner(t *testing.T, path string) ssh.Signer {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pubLine(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

var keyTypes = []struct {
	name string
	args []string
}{
	{"ed25519", []string{"ed25519"}},
	{"ecdsa256", []string{"ecdsa", "-b", "256"}},
	{"ecdsa384", []string{"ecdsa", "-b", "384"}},
	{"ecdsa521", []string{"ecdsa", "-b", "521"}},
	{"rsa", []string{"rsa", "-b", "2048"}},
}

// OpenSSH signs, payctl verifies and identifies; payctl signs, OpenSSH
// verifies; a changed message fails both ways.
func TestAgainstSSHKeygen(t *testing.T) {
	bin := keygen(t)
	for _, kt := range keyTypes {
		t.Run(kt.name, func(t *testing.T) {
			dir := t.TempDir()
			key := newKey(t, dir, "key", kt.args...)
			allowed := filepath.Join(dir, "allowed_signers")
			os.WriteFile(allowed, []byte("# approvers\n\nalice@example.com,alice@corp.example "+pubLine(t, key)+"\n"), 0o644)
			signers, err := LoadAllowedSigners(allowed)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte(`{"format_version": 1, "payouts": []}` + "\n")
			file := filepath.Join(dir, "plan.json")
			os.WriteFile(file, msg, 0o644)

			// (a) ssh-keygen signs; we verify and find the signer.
			if out, err := run(t, nil, bin, "-Y", "sign", "-n", "payctl", "-f", key, file); err != nil {
				t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
			}
			theirs, _ := os.ReadFile(file + ".sig")
			sigs, err := ParseAll(theirs)
			if err != nil || len(sigs) != 1 {
				t.Fatalf("ParseAll(ssh-keygen's signature) = %d, %v", len(sigs), err)
			}
			if err := sigs[0].Verify(Namespace, msg); err != nil {
				t.Fatalf("Verify(ssh-keygen's signature): %v", err)
			}
			p, line, err := signers.Signer(sigs[0].Key, Namespace, time.Now())
			if p != "alice@example.com" || line != 3 || err != nil {
				t.Fatalf("Signer = %q, %d, %v; want alice@example.com, 3", p, line, err)
			}
			if kt.name == "rsa" && sigs[0].Algorithm() != ssh.KeyAlgoRSASHA512 {
				t.Errorf("ssh-keygen's RSA signature is %s", sigs[0].Algorithm())
			}
			// (c) a changed message does not verify.
			if err := sigs[0].Verify(Namespace, append([]byte(" "), msg...)); err == nil || !strings.Contains(err.Error(), "does not verify") {
				t.Fatalf("Verify(tampered) = %v", err)
			}

			// (b) we sign; ssh-keygen verifies.
			ours, err := Sign(loadSigner(t, key), Namespace, msg)
			if err != nil {
				t.Fatal(err)
			}
			ourFile := filepath.Join(dir, "ours.sig")
			os.WriteFile(ourFile, ours, 0o644)
			verify := func(msg []byte) (string, error) {
				return run(t, msg, bin, "-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "payctl", "-s", ourFile)
			}
			if out, err := verify(msg); err != nil || !strings.Contains(out, `Good "payctl" signature for alice@example.com`) {
				t.Fatalf("ssh-keygen -Y verify of our signature: %v\n%s", err, out)
			}
			if out, err := verify(append(msg, 'x')); err == nil {
				t.Fatalf("ssh-keygen -Y verify accepted our signature over a changed message:\n%s", out)
			}
			// Our armor is the same as ssh-keygen's: ed25519 signatures are
			// deterministic, so the files are equal byte for byte.
			if kt.name == "ed25519" && !bytes.Equal(ours, theirs) {
				t.Errorf("our ed25519 signature differs from ssh-keygen's:\n%s\n%s", ours, theirs)
			}
			// And we read back our own, with the right parameters.
			back, err := ParseAll(ours)
			if err != nil || back[0].Verify(Namespace, msg) != nil || back[0].HashAlg != "sha512" {
				t.Fatalf("our signature does not read back: %v", err)
			}
			if kt.name == "rsa" && back[0].Algorithm() != ssh.KeyAlgoRSASHA512 {
				t.Errorf("our RSA signature is %s, want rsa-sha2-512", back[0].Algorithm())
			}

			// (g) another namespace is refused, saying both.
			os.Remove(file + ".sig")
			if out, err := run(t, nil, bin, "-Y", "sign", "-n", "git", "-f", key, file); err != nil {
				t.Fatalf("ssh-keygen -Y sign -n git: %v\n%s", err, out)
			}
			gitSig, _ := os.ReadFile(file + ".sig")
			sigs, err = ParseAll(gitSig)
			if err != nil {
				t.Fatal(err)
			}
			if err := sigs[0].Verify(Namespace, msg); err == nil || !strings.Contains(err.Error(), `"git", not "payctl"`) {
				t.Fatalf("Verify(-n git) = %v", err)
			}
		})
	}
}

// (e) A key past its valid-before is refused by us and by ssh-keygen; one
// before its valid-after too; one whose namespaces exclude payctl too.
func TestAllowedSignersValidityAgainstSSHKeygen(t *testing.T) {
	bin := keygen(t)
	dir := t.TempDir()
	key := newKey(t, dir, "key", "ed25519")
	msg := []byte("plan\n")
	sig, err := Sign(loadSigner(t, key), Namespace, msg)
	if err != nil {
		t.Fatal(err)
	}
	sigFile := filepath.Join(dir, "plan.sig")
	os.WriteFile(sigFile, sig, 0o644)
	sigs, _ := ParseAll(sig)
	for _, c := range []struct{ opts, want string }{
		{`valid-before="20200101Z"`, `alice@example.com's key (allowed_signers:2) expired on 2020-01-01 UTC (valid-before)`},
		{`valid-after="29990101"`, `alice@example.com's key (allowed_signers:2) is not valid before 2999-01-01 (valid-after)`},
		{`namespaces="git,file"`, `alice@example.com's key (allowed_signers:2) is not allowed to sign for namespace "payctl"`},
	} {
		allowed := filepath.Join(dir, "allowed_signers")
		os.WriteFile(allowed, []byte("# expired\nalice@example.com "+c.opts+" "+pubLine(t, key)+"\n"), 0o644)
		a, err := LoadAllowedSigners(allowed)
		if err != nil {
			t.Fatal(err)
		}
		a.File = "allowed_signers"
		if _, _, err := a.Signer(sigs[0].Key, Namespace, time.Now()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Signer = %v; want %q", c.opts, err, c.want)
		}
		if out, err := run(t, msg, bin, "-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "payctl", "-s", sigFile); err == nil {
			t.Errorf("%s: ssh-keygen -Y verify accepted the key:\n%s", c.opts, out)
		}
	}
}

func TestSHA1RSARefused(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, dir, "key", "rsa", "-b", "2048")
	s := loadSigner(t, key).(ssh.AlgorithmSigner)
	msg := []byte("plan")
	data, _ := signedData(Namespace, "sha512", msg)
	raw, err := s.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSA)
	if err != nil {
		t.Fatal(err)
	}
	armored := armor(append([]byte(magic), ssh.Marshal(wire{
		Version: 1, PublicKey: s.PublicKey().Marshal(), Namespace: Namespace, HashAlg: "sha512",
		Signature: ssh.Marshal(sshSignature{raw.Format, raw.Blob, nil}),
	})...))
	sigs, err := ParseAll(armored)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigs[0].Verify(Namespace, msg); err == nil || !strings.Contains(err.Error(), "SHA-1") {
		t.Fatalf("Verify(ssh-rsa) = %v; want a SHA-1 refusal", err)
	}
}

func TestParseAll(t *testing.T) {
	dir := t.TempDir()
	k1 := loadSigner(t, newKey(t, dir, "k1", "ed25519"))
	k2 := loadSigner(t, newKey(t, dir, "k2", "ecdsa"))
	msg := []byte("plan")
	s1, _ := Sign(k1, Namespace, msg)
	s2, _ := Sign(k2, Namespace, msg)
	two := append(append(append([]byte{}, s1...), '\n'), s2...)
	sigs, err := ParseAll(two)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("ParseAll(two) = %d, %v", len(sigs), err)
	}
	for i, s := range sigs {
		if err := s.Verify(Namespace, msg); err != nil {
			t.Errorf("signature %d: %v", i+1, err)
		}
	}
	lines := strings.Split(string(s2), "\n")
	lines[2] = "!!!!"
	for _, c := range []struct{ data, want string }{
		{"", "no SSH signature"},
		{"hello\n", "line 1: not an SSH signature"},
		{string(s1) + "trailing\n", "line 7: text after signature 1"},
		{string(s1) + strings.Join(lines, "\n"), "signature 2 (line 7): bad base64"},
		{beginLine + "\nAAAA\n", "signature 1 (line 1): no " + endLine},
		{beginLine + "\nAAAA\n" + endLine + "\n", "signature 1 (line 1): not an SSHSIG signature"},
	} {
		if _, err := ParseAll([]byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAll(%.40q) = %v; want %q", c.data, err, c.want)
		}
	}
}

func FuzzParseAll(f *testing.F) {
	f.Add([]byte(beginLine + "\nU1NIU0lHAAAAAQ==\n" + endLine + "\n"))
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2UAAAAGcGF5Y3RsAAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5AAAAQA==\n-----END SSH SIGNATURE-----\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sigs, err := ParseAll(data)
		if err != nil {
			return
		}
		for _, s := range sigs {
			s.Verify(Namespace, []byte("x"))
		}
	})
}

// skSign makes a security-key (sk-ssh-ed25519@openssh.com) signature in
// software, as a FIDO token would, with the given flags.
func skSign(t *testing.T, priv ed25519.PrivateKey, ns string, msg []byte, flags byte) (ssh.PublicKey, []byte) {
	t.Helper()
	const app = "ssh:"
	pub, err := ssh.ParsePublicKey(ssh.Marshal(struct {
		Type        string
		Key         []byte
		Application string
	}{ssh.KeyAlgoSKED25519, priv.Public().(ed25519.PublicKey), app}))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := signedData(ns, "sha512", msg)
	appHash := sha256.Sum256([]byte(app))
	dataHash := sha256.Sum256(data)
	counter := uint32(7)
	signed := append(append(appHash[:], flags, byte(counter>>24), byte(counter>>16), byte(counter>>8), byte(counter)), dataHash[:]...)
	blob := ed25519.Sign(priv, signed)
	sig := sshSignature{Format: ssh.KeyAlgoSKED25519, Blob: blob, Rest: []byte{flags, 0, 0, 0, byte(counter)}}
	return pub, armor(append([]byte(magic), ssh.Marshal(wire{
		Version: 1, PublicKey: pub.Marshal(), Namespace: ns, HashAlg: "sha512", Signature: ssh.Marshal(sig),
	})...))
}

// Security keys: verified, with the user-presence (touch) flag required.
// ssh-keygen -Y verify accepts both (it does not check the flag): payctl
// is stricter, an approval needs a touch.
func TestSecurityKeySignatures(t *testing.T) {
	bin := keygen(t)
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("plan\n")
	for _, c := range []struct {
		flags byte
		ok    bool
	}{{0x01, true}, {0x00, false}} {
		pub, armored := skSign(t, priv, Namespace, msg, c.flags)
		sigs, err := ParseAll(armored)
		if err != nil {
			t.Fatal(err)
		}
		err = sigs[0].Verify(Namespace, msg)
		if (err == nil) != c.ok || (!c.ok && !strings.Contains(err.Error(), "without touching the key")) {
			t.Errorf("flags %#x: Verify = %v", c.flags, err)
		}
		if c.ok {
			if err := sigs[0].Verify(Namespace, append(msg, 'x')); err == nil {
				t.Errorf("sk signature verified over another message")
			}
		}
		allowed := filepath.Join(dir, "allowed_signers")
		os.WriteFile(allowed, []byte("alice@example.com "+authorized(pub)+"\n"), 0o644)
		sigFile := filepath.Join(dir, "plan.sig")
		os.WriteFile(sigFile, armored, 0o644)
		out, err := run(t, msg, bin, "-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "payctl", "-s", sigFile)
		if err != nil {
			t.Errorf("flags %#x: ssh-keygen -Y verify: %v\n%s", c.flags, err, out)
		}
	}
}

// ssh-keygen -Y sign -O hashalg=sha256 signatures verify too.
func TestSHA256FromSSHKeygen(t *testing.T) {
	bin := keygen(t)
	dir := t.TempDir()
	key := newKey(t, dir, "key", "ecdsa")
	file := filepath.Join(dir, "plan.json")
	msg := []byte("plan\n")
	os.WriteFile(file, msg, 0o644)
	if out, err := run(t, nil, bin, "-Y", "sign", "-n", "payctl", "-O", "hashalg=sha256", "-f", key, file); err != nil {
		t.Skipf("this ssh-keygen has no -O hashalg: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(file + ".sig")
	sigs, err := ParseAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if sigs[0].HashAlg != "sha256" || sigs[0].Verify(Namespace, msg) != nil {
		t.Errorf("sha256 signature: %s, %v", sigs[0].HashAlg, sigs[0].Verify(Namespace, msg))
	}
}
