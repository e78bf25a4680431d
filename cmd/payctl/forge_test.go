package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/payctl/payctl/state/statefile"
)

// cmdForgeSegment edits a batch's segment as a forger who knows the format
// would, so that payctl's own loading accepts it: the root's digest of the
// segment is updated, and the journal's last record (the checkpoint that
// names the root) is re-hashed to name the new root. Only an audit that
// compares with the journal's history can tell.
//
//	forge-segment STATE BATCH OLD NEW
func cmdForgeSegment(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: forge-segment STATE BATCH OLD NEW")
	}
	root := ts.MkAbs(args[0])
	segPath := filepath.Join(root+".batches", statefile.SegmentFile(args[1]))
	seg := []byte(ts.ReadFile(segPath))
	if !bytes.Contains(seg, []byte(args[2])) {
		ts.Fatalf("%s does not contain %q", segPath, args[2])
	}
	oldDigest := statefile.SnapshotDigest(seg)
	seg = bytes.ReplaceAll(seg, []byte(args[2]), []byte(args[3]))
	ts.Check(writeFile(segPath, seg))
	rootData := []byte(ts.ReadFile(root))
	rootData = bytes.Replace(rootData, []byte(oldDigest), []byte(statefile.SnapshotDigest(seg)), 1)
	ts.Check(writeFile(root, rootData))

	journal := []byte(ts.ReadFile(root + ".journal"))
	lines := bytes.Split(bytes.TrimSuffix(journal, []byte("\n")), []byte("\n"))
	last := lines[len(lines)-1]
	i := bytes.Index(last, []byte(`"snapshot":"`))
	if i < 0 || !strings.Contains(string(last), `"kind":"checkpoint"`) {
		ts.Fatalf("the journal's last record is not a checkpoint")
	}
	i += len(`"snapshot":"`)
	j := i + bytes.IndexByte(last[i:], '"')
	body := append(append(append([]byte{}, last[:i]...), statefile.SnapshotDigest(rootData)...), last[j:bytes.LastIndex(last, []byte(`,"hash":"`))]...)
	sum := sha256.Sum256(body)
	lines[len(lines)-1] = append(body, `,"hash":"`+hex.EncodeToString(sum[:])+`"}`...)
	ts.Check(writeFile(root+".journal", append(bytes.Join(lines, []byte("\n")), '\n')))
}

func writeFile(path string, data []byte) error {
	return os.WriteFile(path, data, 0o600)
}
