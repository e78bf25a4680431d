package appendlog

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestAppendSyncReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq, err := l.Append(map[string]int{"n": i})
			if err == nil {
				err = l.Sync(seq)
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Appended, never synced: not in the file.
	if _, err := l.Append(map[string]int{"n": 99}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := Replay(path, func([]byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Errorf("got %d records, want 50", n)
	}
}

func TestReplayTornAndDamaged(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		text string
		n    int
		err  string
	}{
		"missing":     {n: 0},
		"torn last":   {text: "{\"a\":1}\n{\"a\":", n: 1},
		"damaged":     {text: "{\"a\":1}\nnot json\n{\"a\":2}\n", err: "line 2 is not a JSON record"},
		"two records": {text: "{\"a\":1}\n{\"a\":2}\n", n: 2},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if name != "missing" {
				os.WriteFile(path, []byte(tc.text), 0o600)
			}
			n := 0
			err := Replay(path, func([]byte) error { n++; return nil })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || n != tc.n {
				t.Errorf("got %d records, error %v, want %d", n, err, tc.n)
			}
		})
	}
}
