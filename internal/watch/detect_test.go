package watch

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// The detector's decisions, driven by hand-made events (the watcher's
// tests drive it with real ones).
func TestDetector(t *testing.T) {
	const quiet = 10 * time.Second
	type step struct {
		do      string // create, write, chmod, barrier, lost, advance:D, timeout
		wantNow []string
	}
	tests := []struct {
		name  string
		size  int
		steps []step
	}{
		{"renamed in: taken when its barrier arrives", 10, []step{
			{"create", nil}, {"barrier", []string{"f.yaml"}},
		}},
		{"written after create: the quiet period", 10, []step{
			{"create", nil}, {"write", nil}, {"barrier", nil},
			{"advance:9s", nil}, {"advance:2s", []string{"f.yaml"}},
		}},
		{"empty at create: the quiet period", 0, []step{
			{"create", nil}, {"barrier", nil}, {"advance:2500ms", nil}, {"advance:8s", []string{"f.yaml"}},
		}},
		{"events lost while waiting: the quiet period", 10, []step{
			{"create", nil}, {"lost", nil}, {"barrier", nil}, {"advance:5s", nil}, {"advance:6s", []string{"f.yaml"}},
		}},
		{"barrier never arrives: the quiet period", 10, []step{
			{"create", nil}, {"advance:1s", nil}, {"advance:8s", nil}, {"advance:1s", []string{"f.yaml"}},
		}},
		{"a chmod while waiting changes nothing", 10, []step{
			{"create", nil}, {"chmod", nil}, {"barrier", []string{"f.yaml"}},
		}},
		{"found by a listing: two looks a quiet period apart", 10, []step{
			{"rescan", nil}, {"advance:9s", nil}, {"advance:2s", []string{"f.yaml"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "f.yaml"), make([]byte, tt.size), 0o600); err != nil {
				t.Fatal(err)
			}
			clock := newFakeClock()
			var taken []string
			d := newDetector(dir, clock, quiet, 1<<20, slog.New(slog.DiscardHandler), func(n string) { taken = append(taken, n) })
			ev := func(op fsnotify.Op, name string) { d.event(fsnotify.Event{Name: filepath.Join(dir, name), Op: op}) }
			for i, s := range tt.steps {
				taken = nil
				switch {
				case s.do == "create":
					ev(fsnotify.Create, "f.yaml")
				case s.do == "write":
					ev(fsnotify.Write, "f.yaml")
				case s.do == "chmod":
					ev(fsnotify.Chmod, "f.yaml")
				case s.do == "barrier":
					ev(fsnotify.Create, fmt.Sprintf("%s%d", barrierPrefix, d.issued))
				case s.do == "lost":
					d.lost()
				case s.do == "rescan":
					if err := d.rescan(); err != nil {
						t.Fatal(err)
					}
				case len(s.do) > 8 && s.do[:8] == "advance:":
					dur, err := time.ParseDuration(s.do[8:])
					if err != nil {
						t.Fatal(err)
					}
					clock.Advance(dur)
					d.due()
				}
				if !slices.Equal(taken, s.wantNow) {
					t.Fatalf("step %d (%s): got %v taken, want %v", i, s.do, taken, s.wantNow)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("the folder holds %d entries, want only f.yaml (barriers are removed)", len(entries))
			}
		})
	}
}
