// Package approval handles signed approvals of saved plans: a person signs
// the exact bytes of a plan file with an SSH key (`payctl approve`, or
// `ssh-keygen -Y sign -n payctl`), and whoever applies the plan counts the
// valid signatures of allowed signers beside it.
//
// Approvals live beside the plan file: PLANFILE.sig (what a bare
// `ssh-keygen -Y sign -n payctl -f KEY PLANFILE` writes) and the *.sig files
// in the folder PLANFILE.approvals/ (what `payctl approve` writes, one per
// key). Each file may hold several armored signatures, concatenated.
package approval

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/sshsig"
)

// Caps on what Collect reads.
const (
	MaxFiles    = 100     // signature files in PLANFILE.approvals/
	MaxFileSize = 1 << 20 // bytes per signature file
)

// Approval is one approver's valid signature of a plan.
type Approval struct {
	Principal string // the first principal of the allowed_signers line
	Key       string // the key's fingerprint, SHA256:...
	File      string // the signature file it was read from
	Line      int    // the allowed_signers line that names the approver
}

// SigFile is the signature file `ssh-keygen -Y sign` writes for planFile.
func SigFile(planFile string) string { return planFile + ".sig" }

// Dir is the folder of approvals `payctl approve` writes for planFile.
func Dir(planFile string) string { return planFile + ".approvals" }

// Collect reads the approvals stored beside planFile (SigFile and the *.sig
// files in Dir, sorted by name) and verifies each signature over planBytes,
// the plan file's bytes as the caller read them, under sshsig.Namespace.
//
//   - bad: a file that cannot be read or parsed, a signature that does not
//     verify (the plan changed since it was signed) or that was made for
//     another namespace. Each names its file. These are errors.
//   - ignored: a valid signature whose key is not an allowed signer at now
//     (not listed, expired, not yet valid, not for this namespace), with
//     the reason. These are warnings.
//   - approvals: one per distinct principal, from the first file (in the
//     order above) that holds a valid signature of theirs: an approver who
//     signed twice, with one key or with two keys listed under the same
//     first principal, counts once.
func Collect(planFile string, planBytes []byte, signers *sshsig.AllowedSigners, now time.Time) (approvals []Approval, ignored []error, bad []error) {
	files, err := sigFiles(planFile)
	if err != nil {
		bad = append(bad, err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		if file == SigFile(planFile) {
			if _, err := os.Lstat(file); errors.Is(err, os.ErrNotExist) {
				continue
			}
		}
		data, err := readCapped(file, MaxFileSize, "a signature file")
		if err != nil {
			bad = append(bad, err)
			continue
		}
		sigs, err := sshsig.ParseAll(data)
		if err != nil {
			bad = append(bad, fmt.Errorf("%s: %w", file, err))
			continue
		}
		for i, s := range sigs {
			where := file
			if len(sigs) > 1 {
				where = fmt.Sprintf("%s (signature %d)", file, i+1)
			}
			if err := s.Verify(sshsig.Namespace, planBytes); err != nil {
				bad = append(bad, fmt.Errorf("%s: %s: %w", where, sshsig.Describe(s.Key), err))
				continue
			}
			principal, line, err := signers.Signer(s.Key, sshsig.Namespace, now)
			if err != nil {
				ignored = append(ignored, fmt.Errorf("%s: %w", where, err))
				continue
			}
			if seen[principal] {
				continue
			}
			seen[principal] = true
			approvals = append(approvals, Approval{Principal: principal, Key: sshsig.Fingerprint(s.Key), File: file, Line: line})
		}
	}
	return approvals, ignored, bad
}

// sigFiles lists the signature files of planFile: SigFile, then Dir's
// *.sig files (not hidden ones) in name order, at most MaxFiles of these.
func sigFiles(planFile string) ([]string, error) {
	files := []string{SigFile(planFile)}
	dir := Dir(planFile)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return files, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasSuffix(n, ".sig") && !strings.HasPrefix(n, ".") && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var capErr error
	if len(names) > MaxFiles {
		capErr = fmt.Errorf("%s: %d signature files; payctl reads at most %d (the first %d by name were read)", dir, len(names), MaxFiles, MaxFiles)
		names = names[:MaxFiles]
	}
	for _, n := range names {
		files = append(files, filepath.Join(dir, n))
	}
	return files, capErr
}

// readCapped reads a file of at most max bytes (refusing a named pipe or a
// device, which could block or never end); what names the kind of file.
func readCapped(path string, max int64, what string) ([]byte, error) {
	data, derr := doc.ReadFile(path, int(max))
	if derr != nil {
		return nil, fmt.Errorf("%w (%s)", derr, what)
	}
	return data, nil
}
