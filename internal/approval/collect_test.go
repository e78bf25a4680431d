package approval

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/payctl/payctl/internal/sshsig/sshsigtest"

	"github.com/payctl/payctl/internal/sshsig"
)

func keygen(t *testing.T) string { return sshsigtest.Keygen(t) }

type testKey struct {
	path   string
	signer ssh.Signer
	pub    string // authorized_keys line
}

func newKey(t *testing.T, dir, name, typ string) testKey {
	t.Helper()
	bin := keygen(t)
	path := filepath.Join(dir, name)
	if out, err := exec.Command(bin, "-q", "-N", "", "-C", name, "-t", typ, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(path)
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(path + ".pub")
	return testKey{path, s, strings.TrimSpace(string(pub))}
}

// sshKeygenSign signs file with ssh-keygen under namespace ns: it writes
// file.sig.
func sshKeygenSign(t *testing.T, k testKey, ns, file string) {
	t.Helper()
	if out, err := exec.Command(keygen(t), "-Y", "sign", "-n", ns, "-f", k.path, file).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
	}
}

func sign(t *testing.T, k testKey, msg []byte) []byte {
	t.Helper()
	sig, err := sshsig.Sign(k.signer, sshsig.Namespace, msg)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func errStrings(errs []error) string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return strings.Join(s, "\n")
}

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	alice := newKey(t, dir, "alice", "ed25519")
	alice2 := newKey(t, dir, "alice2", "ecdsa")
	bob := newKey(t, dir, "bob", "rsa")
	carol := newKey(t, dir, "carol", "ed25519")   // expired
	mallory := newKey(t, dir, "mallory", "ecdsa") // not listed
	signers, err := sshsig.ParseAllowedSigners("allowed_signers", []byte(strings.Join([]string{
		"alice@example.com " + alice.pub,
		"alice@example.com,alice@laptop " + alice2.pub,
		`bob@example.com namespaces="payctl" ` + bob.pub,
		`carol@example.com valid-before="20261130Z" ` + carol.pub,
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(dir, "plan.json")
	msg := []byte(`{"format_version": 1}` + "\n")
	writeFile(t, planFile, msg)
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)

	// Nothing signed yet.
	a, ig, bad := Collect(planFile, msg, signers, now)
	if len(a)+len(ig)+len(bad) != 0 {
		t.Fatalf("no signatures: %v %v %v", a, ig, bad)
	}

	// Bob signs with ssh-keygen: plan.json.sig.
	sshKeygenSign(t, bob, "payctl", planFile)
	apv := Dir(planFile)
	// Alice approves twice with one key (two files, one holding two
	// signatures) and once with her second key: one approval.
	writeFile(t, filepath.Join(apv, "a1.sig"), sign(t, alice, msg))
	writeFile(t, filepath.Join(apv, "a2.sig"), append(sign(t, alice2, msg), sign(t, alice, msg)...))
	// (d) mallory's key is not listed; (e) carol's expired: ignored.
	writeFile(t, filepath.Join(apv, "m.sig"), sign(t, mallory, msg))
	writeFile(t, filepath.Join(apv, "c.sig"), sign(t, carol, msg))
	// Not signature files: skipped.
	writeFile(t, filepath.Join(apv, "README"), []byte("hello"))
	writeFile(t, filepath.Join(apv, ".a1.sig.tmp-1"), []byte("partial"))

	a, ig, bad = Collect(planFile, msg, signers, now)
	if len(bad) != 0 {
		t.Fatalf("bad: %s", errStrings(bad))
	}
	want := []Approval{
		{Principal: "bob@example.com", Key: sshsig.Fingerprint(bob.signer.PublicKey()), File: planFile + ".sig", Line: 3},
		{Principal: "alice@example.com", Key: sshsig.Fingerprint(alice.signer.PublicKey()), File: filepath.Join(apv, "a1.sig"), Line: 1},
	}
	if fmt.Sprint(a) != fmt.Sprint(want) {
		t.Errorf("approvals\n got %v\nwant %v", a, want)
	}
	igs := errStrings(ig)
	for _, w := range []string{
		filepath.Join(apv, "c.sig") + ": carol@example.com's key (allowed_signers:4) expired on 2026-11-30 UTC (valid-before)",
		filepath.Join(apv, "m.sig") + ": key " + sshsig.Describe(mallory.signer.PublicKey()) + " is not in allowed_signers",
	} {
		if !strings.Contains(igs, w) {
			t.Errorf("ignored lacks %q:\n%s", w, igs)
		}
	}
	if len(ig) != 2 {
		t.Errorf("ignored:\n%s", igs)
	}

	// (c) The plan changed: every signature is bad, naming its file.
	_, _, bad = Collect(planFile, append(msg, ' '), signers, now)
	if len(bad) != 6 || !strings.Contains(errStrings(bad), planFile+".sig: "+sshsig.Describe(bob.signer.PublicKey())+": the signature does not verify") {
		t.Errorf("tampered plan: %d bad:\n%s", len(bad), errStrings(bad))
	}

	// (g) -n git is bad; (h) garbage is bad, naming the file.
	os.Remove(planFile + ".sig")
	sshKeygenSign(t, bob, "git", planFile)
	writeFile(t, filepath.Join(apv, "z.sig"), []byte("not a signature\n"))
	a, _, bad = Collect(planFile, msg, signers, now)
	bads := errStrings(bad)
	for _, w := range []string{
		planFile + `.sig: ` + sshsig.Describe(bob.signer.PublicKey()) + `: signed for namespace "git", not "payctl" (sign with -n payctl)`,
		filepath.Join(apv, "z.sig") + ": line 1: not an SSH signature",
	} {
		if !strings.Contains(bads, w) {
			t.Errorf("bad lacks %q:\n%s", w, bads)
		}
	}
	if len(bad) != 2 || len(a) != 1 {
		t.Errorf("%d approvals, bad:\n%s", len(a), bads)
	}

	// No allowed signers: valid signatures are ignored, not approvals.
	a, ig, _ = Collect(planFile, msg, nil, now)
	if len(a) != 0 || !strings.Contains(errStrings(ig), "no allowed signers") {
		t.Errorf("nil signers: %v, %s", a, errStrings(ig))
	}
}

func TestCollectCaps(t *testing.T) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	for i := range MaxFiles + 1 {
		writeFile(t, filepath.Join(Dir(planFile), fmt.Sprintf("%03d.sig", i)), []byte("x"))
	}
	writeFile(t, planFile+".sig", make([]byte, MaxFileSize+1))
	_, _, bad := Collect(planFile, nil, nil, time.Now())
	bads := errStrings(bad)
	if !strings.Contains(bads, "101 signature files; payctl reads at most 100") ||
		!strings.Contains(bads, planFile+".sig: file is larger than the 1 MiB limit (a signature file)") ||
		strings.Contains(bads, "100.sig") || len(bad) != 102 {
		t.Errorf("%d bad:\n%.1000s", len(bad), bads)
	}
}

func TestFileName(t *testing.T) {
	dir := t.TempDir()
	k := newKey(t, dir, "k", "ed25519")
	name := FileName(k.signer.PublicKey())
	if !strings.HasPrefix(name, "SHA256-") || !strings.HasSuffix(name, ".sig") || strings.ContainsAny(name, "/+=:") {
		t.Errorf("FileName = %q", name)
	}
	planFile := filepath.Join(dir, "plan.json")
	for range 2 { // the second replaces the first
		path, err := Write(planFile, k.signer.PublicKey(), []byte("sig\n"))
		if err != nil || path != filepath.Join(Dir(planFile), name) {
			t.Fatalf("Write = %s, %v", path, err)
		}
	}
	entries, _ := os.ReadDir(Dir(planFile))
	if len(entries) != 1 {
		t.Errorf("%d files in %s", len(entries), Dir(planFile))
	}
	if fi, _ := os.Stat(filepath.Join(Dir(planFile), name)); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
}

func TestFindKey(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	getenv := func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}
	noGit := func() string { return "" }
	if _, err := FindKey(KeyOptions{Getenv: getenv, GitSigningKey: noGit}); err == nil || !strings.Contains(err.Error(), "pass -key FILE") {
		t.Errorf("no key: %v", err)
	}
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	rsa := newKey(t, filepath.Join(home, ".ssh"), "id_rsa", "rsa")
	ecdsa := newKey(t, filepath.Join(home, ".ssh"), "id_ecdsa", "ecdsa")
	k, err := FindKey(KeyOptions{Getenv: getenv, GitSigningKey: noGit})
	if err != nil || k.Source != ecdsa.path {
		t.Errorf("default key: %v, %v; want id_ecdsa before id_rsa", k, err)
	}
	// git's user.signingKey, as ~/ path, wins.
	k, err = FindKey(KeyOptions{Getenv: getenv, GitSigningKey: func() string { return "~/.ssh/id_rsa\n" }})
	if err != nil || !strings.Contains(k.Source, "git's user.signingKey") || k.Source[:len(rsa.path)] != rsa.path {
		t.Errorf("git's key: %+v, %v", k, err)
	}
	// A GPG key id in user.signingKey is not ours: the defaults apply.
	k, err = FindKey(KeyOptions{Getenv: getenv, GitSigningKey: func() string { return "ABCD1234" }})
	if err != nil || k.Source != ecdsa.path {
		t.Errorf("gpg signingKey: %v, %v", k, err)
	}
	// A public key, or an encrypted private key, needs an agent.
	for _, file := range []string{ecdsa.path + ".pub", encrypted(t, dir)} {
		_, err := FindKey(KeyOptions{File: file, Getenv: getenv})
		if err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK is not set") {
			t.Errorf("%s without an agent: %v", file, err)
		}
	}
	writeFile(t, filepath.Join(dir, "junk"), []byte("junk"))
	if _, err := FindKey(KeyOptions{File: filepath.Join(dir, "junk"), Getenv: getenv}); err == nil || !strings.Contains(err.Error(), "not an SSH private key") {
		t.Errorf("junk key: %v", err)
	}
}

func encrypted(t *testing.T, dir string) string {
	path := filepath.Join(dir, "enc")
	if out, err := exec.Command(keygen(t), "-q", "-N", "secret", "-t", "ed25519", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return path
}

// An ssh-agent signs for a public key file and for an encrypted private
// key; RSA signs with rsa-sha2-512 through it.
func TestFindKeyAgent(t *testing.T) {
	dir := t.TempDir()
	rsa := newKey(t, dir, "rsa", "rsa")
	enc := encrypted(t, dir)
	keyring := agent.NewKeyring()
	for _, path := range []string{rsa.path, enc} {
		data, _ := os.ReadFile(path)
		raw, err := ssh.ParseRawPrivateKey(data)
		if err != nil {
			raw, err = ssh.ParseRawPrivateKeyWithPassphrase(data, []byte("secret"))
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("no unix sockets here: %v", err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, c)
		}
	}()
	getenv := func(k string) string {
		if k == "SSH_AUTH_SOCK" {
			return sock
		}
		return ""
	}
	msg := []byte("plan")
	for _, file := range []string{rsa.path + ".pub", enc} {
		k, err := FindKey(KeyOptions{File: file, Getenv: getenv})
		if err != nil || !k.Agent {
			t.Fatalf("%s: %v", file, err)
		}
		armored, err := sshsig.Sign(k.Signer, sshsig.Namespace, msg)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		sigs, err := sshsig.ParseAll(armored)
		if err != nil || sigs[0].Verify(sshsig.Namespace, msg) != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if file != enc && sigs[0].Algorithm() != ssh.KeyAlgoRSASHA512 {
			t.Errorf("agent RSA signature: %s", sigs[0].Algorithm())
		}
	}
	// A key the agent does not hold.
	other := newKey(t, dir, "other", "ed25519")
	if _, err := FindKey(KeyOptions{File: other.path + ".pub", Getenv: getenv}); err == nil || !strings.Contains(err.Error(), "does not hold the key") {
		t.Errorf("key not in agent: %v", err)
	}
}
