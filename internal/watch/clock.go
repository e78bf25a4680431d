package watch

import "time"

// Clock is time as the watcher measures it: quiet periods, settling,
// rescans and retry delays. Tests move a fake one by hand instead of
// sleeping.
type Clock interface {
	Now() time.Time
	// After is time.After.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
