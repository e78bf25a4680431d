package approval

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/internal/sshsig"
)

// Key is the key an approver signs with.
type Key struct {
	ssh.Signer
	// Source says where it came from, for the approver: the file, and
	// whether the ssh-agent signs.
	Source string
	Agent  bool
}

// KeyOptions say where to find the approver's key.
type KeyOptions struct {
	// File is -key: a private key file (OpenSSH or PEM), or a public key
	// file (.pub) whose private key an ssh-agent holds. Empty: git's
	// user.signingKey when it names a key, else ~/.ssh/id_ed25519,
	// id_ecdsa, id_rsa, the first that exists.
	File   string
	Getenv func(string) string
	// GitSigningKey returns `git config user.signingKey` ("" if unset);
	// nil runs git.
	GitSigningKey func() string
}

// maxKeyFile caps a key file.
const maxKeyFile = 1 << 20

// FindKey finds and loads the approver's key.
func FindKey(o KeyOptions) (*Key, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.File != "" {
		return loadKey(o.File, o)
	}
	git := o.GitSigningKey
	if git == nil {
		git = gitSigningKey
	}
	if v := strings.TrimSpace(git()); v != "" {
		lit := strings.TrimPrefix(v, "key::")
		if pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(lit)); err == nil {
			k, err := fromAgent(pub, "git's user.signingKey", o)
			if err != nil {
				return nil, err
			}
			return k, nil
		}
		path := expandHome(v, o.Getenv)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			k, err := loadKey(path, o)
			if err != nil {
				return nil, fmt.Errorf("git's user.signingKey: %w", err)
			}
			k.Source += " (git's user.signingKey)"
			return k, nil
		}
	}
	home := o.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	var tried []string
	for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		path := filepath.Join(home, ".ssh", n)
		tried = append(tried, path)
		if _, err := os.Stat(path); err == nil {
			return loadKey(path, o)
		}
	}
	return nil, fmt.Errorf("no key to sign with: pass -key FILE (none of %s exists, and git's user.signingKey names no key)", strings.Join(tried, ", "))
}

func expandHome(p string, getenv func(string) string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		return filepath.Join(home, rest)
	}
	return p
}

func gitSigningKey() string {
	out, err := exec.Command("git", "config", "--get", "user.signingKey").Output()
	if err != nil {
		return ""
	}
	return string(out)
}

func readKeyFile(path string) ([]byte, error) {
	return readCapped(path, maxKeyFile, "a key file")
}

func loadKey(path string, o KeyOptions) (*Key, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	// A public key: the agent signs.
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		return fromAgent(pub, path, o)
	}
	signer, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pub := missing.PublicKey
		if pub == nil {
			if d, err := readKeyFile(path + ".pub"); err == nil {
				pub, _, _, _, _ = ssh.ParseAuthorizedKey(d)
			}
		}
		if pub == nil {
			return nil, fmt.Errorf("%s is encrypted with a passphrase: add it to your ssh-agent (ssh-add %s) and pass -key %s.pub", path, path, path)
		}
		k, aerr := fromAgent(pub, path, o)
		if aerr != nil {
			return nil, fmt.Errorf("%s is encrypted with a passphrase, and payctl signs with encrypted keys only through ssh-agent: %w", path, aerr)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not an SSH private key (OpenSSH or PEM) nor a public key: %v", path, err)
	}
	if _, ok := signer.PublicKey().(*ssh.Certificate); ok {
		return nil, fmt.Errorf("%s: certificates are not supported", path)
	}
	return &Key{Signer: signer, Source: path}, nil
}

// fromAgent finds pub among the keys of the ssh-agent at $SSH_AUTH_SOCK.
func fromAgent(pub ssh.PublicKey, source string, o KeyOptions) (*Key, error) {
	sock := o.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, fmt.Errorf("%s: the private key is not available and no ssh-agent is running (SSH_AUTH_SOCK is not set): start one and add the key (eval $(ssh-agent); ssh-add PRIVATEKEY), or pass -key PRIVATEKEY", source)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh-agent at SSH_AUTH_SOCK: %v", source, err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh-agent: %v", err)
	}
	want := pub.Marshal()
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), want) {
			// conn stays open for the signature; the process ends soon.
			return &Key{Signer: s, Source: source + " (signed by ssh-agent)", Agent: true}, nil
		}
	}
	conn.Close()
	return nil, fmt.Errorf("the ssh-agent does not hold the key %s (%s): add it with ssh-add", sshsig.Describe(pub), source)
}

// FileName is the name of the approval file for key k in Dir: its
// fingerprint made safe for file names ("SHA256-<base64url>.sig"), so two
// keys never share a file and re-approving with a key replaces its file.
func FileName(k ssh.PublicKey) string {
	fp := sshsig.Fingerprint(k)
	r := strings.NewReplacer(":", "-", "+", "-", "/", "_", "=", "")
	return r.Replace(fp) + ".sig"
}

// Write stores an armored signature by key k as the approval of planFile:
// Dir(planFile)/FileName(k), created 0644 atomically (a re-approval with
// the same key replaces it). It returns the file's path.
func Write(planFile string, k ssh.PublicKey, armored []byte) (string, error) {
	dir := Dir(planFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, FileName(k))
	if err := atomicfile.WriteFile(path, armored, atomicfile.Options{Perm: 0o644}); err != nil {
		return "", err
	}
	return path, nil
}
