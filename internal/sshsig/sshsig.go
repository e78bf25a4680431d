// Package sshsig reads, writes and verifies OpenSSH signatures: the
// "SSHSIG" format that `ssh-keygen -Y sign` writes and `ssh-keygen -Y
// verify` checks (OpenSSH's PROTOCOL.sshsig), and the allowed_signers file
// that says whose keys they are (ssh-keygen(1), "ALLOWED SIGNERS").
//
// payctl signs and verifies saved plans under the namespace "payctl", as
// git signs commits under "git": a signature made for another purpose never
// approves a plan. Keys and signature algorithms are golang.org/x/crypto/ssh's:
// ed25519, ecdsa (nistp256, nistp384, nistp521), rsa (rsa-sha2-256 and
// rsa-sha2-512; never ssh-rsa, which is SHA-1) and the security-key types
// sk-ssh-ed25519@openssh.com and sk-ecdsa-sha2-nistp256@openssh.com
// (verified, with the user-presence flag required: the key was touched;
// ssh-keygen -Y verify does not check that flag). Certificates are not
// supported: a signature made with one, or a cert-authority line in
// allowed_signers, is refused.
package sshsig

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Namespace is the namespace (ssh-keygen's -n) payctl signs and verifies
// plans under.
const Namespace = "payctl"

const (
	magic      = "SSHSIG"
	sigVersion = 1
	beginLine  = "-----BEGIN SSH SIGNATURE-----"
	endLine    = "-----END SSH SIGNATURE-----"
	// wrap is the width ssh-keygen wraps the base64 at.
	wrap = 70
	// MaxBlocks caps the signatures ParseAll reads from one file.
	MaxBlocks = 100
)

// Signature is one parsed SSHSIG signature.
type Signature struct {
	// Key is the public key that made the signature (never a certificate).
	Key       ssh.PublicKey
	Namespace string
	HashAlg   string // "sha256" or "sha512"
	sig       *ssh.Signature
}

// Algorithm is the signature algorithm, e.g. "ssh-ed25519", "rsa-sha2-512".
func (s *Signature) Algorithm() string { return s.sig.Format }

// signedData is what the key signs: PROTOCOL.sshsig's blob over the hash
// of the message.
func signedData(namespace, hashAlg string, message []byte) ([]byte, error) {
	var h []byte
	switch hashAlg {
	case "sha256":
		s := sha256.Sum256(message)
		h = s[:]
	case "sha512":
		s := sha512.Sum512(message)
		h = s[:]
	default:
		return nil, fmt.Errorf("unsupported hash algorithm %q (OpenSSH uses sha256 or sha512)", hashAlg)
	}
	return append([]byte(magic), ssh.Marshal(struct {
		Namespace, Reserved, HashAlg string
		Hash                         []byte
	}{namespace, "", hashAlg, h})...), nil
}

// wire is the signature blob after the magic preamble.
type wire struct {
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  []byte
	HashAlg   string
	Signature []byte
}

// sshSignature is an SSH signature as encoded inside SSHSIG.
type sshSignature struct {
	Format string
	Blob   []byte
	Rest   []byte `ssh:"rest"`
}

// Sign signs message under namespace with signer and returns the armored
// signature exactly as `ssh-keygen -Y sign` writes it. The message is
// hashed with SHA-512; RSA keys sign with rsa-sha2-512.
func Sign(signer ssh.Signer, namespace string, message []byte) ([]byte, error) {
	if namespace == "" {
		return nil, errors.New("sign: empty namespace")
	}
	pub := signer.PublicKey()
	if _, ok := pub.(*ssh.Certificate); ok {
		return nil, errors.New("sign: certificate keys are not supported; sign with the plain key")
	}
	data, err := signedData(namespace, "sha512", message)
	if err != nil {
		return nil, err
	}
	var sig *ssh.Signature
	if pub.Type() == ssh.KeyAlgoRSA {
		as, ok := signer.(ssh.AlgorithmSigner)
		if !ok {
			return nil, errors.New("sign: this RSA signer cannot sign with rsa-sha2-512 (SHA-1 ssh-rsa signatures are refused)")
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
		if err == nil && sig.Format != ssh.KeyAlgoRSASHA512 {
			err = fmt.Errorf("the signer made a %s signature, not rsa-sha2-512", sig.Format)
		}
	} else {
		sig, err = signer.Sign(rand.Reader, data)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	blob := append([]byte(magic), ssh.Marshal(wire{
		Version:   sigVersion,
		PublicKey: pub.Marshal(),
		Namespace: namespace,
		HashAlg:   "sha512",
		Signature: ssh.Marshal(sshSignature{sig.Format, sig.Blob, sig.Rest}),
	})...)
	return armor(blob), nil
}

func armor(blob []byte) []byte {
	var b bytes.Buffer
	b.WriteString(beginLine + "\n")
	enc := base64.StdEncoding.EncodeToString(blob)
	for len(enc) > wrap {
		b.WriteString(enc[:wrap] + "\n")
		enc = enc[wrap:]
	}
	b.WriteString(enc + "\n")
	b.WriteString(endLine + "\n")
	return b.Bytes()
}

// ParseAll reads every armored signature in data: a file may hold several,
// one after the other. Only blank lines may stand between them. Errors say
// which signature (1-based) and line.
func ParseAll(data []byte) ([]*Signature, error) {
	var sigs []*Signature
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		n := len(sigs) + 1
		if l != beginLine {
			if len(sigs) == 0 {
				return nil, fmt.Errorf("line %d: not an SSH signature (no %s)", i+1, beginLine)
			}
			return nil, fmt.Errorf("line %d: text after signature %d that is not another signature", i+1, len(sigs))
		}
		if n > MaxBlocks {
			return nil, fmt.Errorf("more than %d signatures in one file", MaxBlocks)
		}
		start := i + 1
		var b64 strings.Builder
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != endLine; i++ {
			b64.WriteString(strings.TrimSpace(lines[i]))
		}
		if i == len(lines) {
			return nil, fmt.Errorf("signature %d (line %d): no %s line", n, start, endLine)
		}
		blob, err := base64.StdEncoding.DecodeString(b64.String())
		if err != nil {
			return nil, fmt.Errorf("signature %d (line %d): bad base64: %v", n, start, err)
		}
		s, err := parse(blob)
		if err != nil {
			return nil, fmt.Errorf("signature %d (line %d): %w", n, start, err)
		}
		sigs = append(sigs, s)
	}
	if len(sigs) == 0 {
		return nil, errors.New("no SSH signature in it")
	}
	return sigs, nil
}

func parse(blob []byte) (*Signature, error) {
	rest, ok := bytes.CutPrefix(blob, []byte(magic))
	if !ok {
		return nil, errors.New("not an SSHSIG signature (bad magic)")
	}
	var w wire
	if err := ssh.Unmarshal(rest, &w); err != nil {
		if len(rest) >= 4 && (rest[0]|rest[1]|rest[2]) == 0 && rest[3] != sigVersion {
			return nil, fmt.Errorf("SSHSIG version %d; payctl reads version %d", rest[3], sigVersion)
		}
		return nil, fmt.Errorf("malformed SSHSIG signature: %v", err)
	}
	if w.Version != sigVersion {
		return nil, fmt.Errorf("SSHSIG version %d; payctl reads version %d", w.Version, sigVersion)
	}
	key, err := ssh.ParsePublicKey(w.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("its public key: %v", err)
	}
	if _, ok := key.(*ssh.Certificate); ok {
		return nil, fmt.Errorf("made with a certificate (%s): certificates are not supported; sign with the plain key listed in allowed_signers", key.Type())
	}
	if w.Namespace == "" {
		return nil, errors.New("empty namespace")
	}
	var sig sshSignature
	if err := ssh.Unmarshal(w.Signature, &sig); err != nil {
		return nil, fmt.Errorf("malformed signature: %v", err)
	}
	if len(sig.Rest) > 0 && !sk(sig.Format) {
		return nil, errors.New("malformed signature: trailing data")
	}
	return &Signature{
		Key: key, Namespace: w.Namespace, HashAlg: w.HashAlg,
		sig: &ssh.Signature{Format: sig.Format, Blob: sig.Blob, Rest: sig.Rest},
	}, nil
}

// Verify checks the signature over message: its namespace must be want,
// its hash sha256 or sha512, and it must verify under s.Key. RSA signatures
// with SHA-1 (ssh-rsa) are refused, as OpenSSH refuses them.
func (s *Signature) Verify(want string, message []byte) error {
	if s.Namespace != want {
		return fmt.Errorf("signed for namespace %q, not %q (sign with -n %s)", s.Namespace, want, want)
	}
	if s.sig.Format == ssh.KeyAlgoRSA {
		return errors.New("an ssh-rsa (SHA-1) signature: refused; sign with rsa-sha2-512 (ssh-keygen -Y sign does)")
	}
	if sk(s.sig.Format) && (len(s.sig.Rest) == 0 || s.sig.Rest[0]&skUserPresence == 0) {
		return errors.New("a security-key signature made without touching the key (no user-presence flag): refused")
	}
	data, err := signedData(s.Namespace, s.HashAlg, message)
	if err != nil {
		return err
	}
	if err := s.Key.Verify(data, s.sig); err != nil {
		return fmt.Errorf("the signature does not verify (the file changed since it was signed, or it signs another file): %v", err)
	}
	return nil
}

// skUserPresence is the flag a security key sets when it was touched.
const skUserPresence = 0x01

// sk reports whether a signature format is a security key's: its flags
// and counter follow the signature blob.
func sk(format string) bool {
	return format == ssh.KeyAlgoSKECDSA256 || format == ssh.KeyAlgoSKED25519
}

// Fingerprint is the key's SHA-256 fingerprint as `ssh-keygen -l` prints
// it: "SHA256:" and unpadded base64.
func Fingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }

// Describe names a key for a person: its type and fingerprint.
func Describe(k ssh.PublicKey) string { return k.Type() + " " + Fingerprint(k) }
