package state

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/google/uuid"
)

// LockInfo says who holds a state's lock.
type LockInfo struct {
	ID        string    `json:"id"`
	Who       string    `json:"who"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Operation string    `json:"operation"`
	Since     time.Time `json:"since"`
}

func (i LockInfo) String() string {
	return fmt.Sprintf("%s on %s (pid %d, payctl %s) since %s, lock ID %s",
		i.Who, i.Host, i.PID, i.Operation, i.Since.UTC().Format(time.RFC3339), i.ID)
}

// LockedError is returned when another writer holds the lock.
type LockedError struct {
	State  string
	Holder LockInfo
	// Stale is true when the holder is on another host and may be dead:
	// only a person can tell, and `payctl state unlock ID` is the way out.
	Stale bool
}

func (e *LockedError) Error() string {
	if e.Stale {
		return fmt.Sprintf("%s is locked by %s; that host may be down: if it is, run `payctl state unlock %s`", e.State, e.Holder, e.Holder.ID)
	}
	return fmt.Sprintf("%s is locked by %s; wait for it to finish", e.State, e.Holder)
}

// ErrLockMismatch is returned by Unlock when the ID is not the holder's.
var ErrLockMismatch = errors.New("lock ID does not match the lock's holder")

// Actor is who runs this process, as user@host; PAYCTL_ACTOR overrides it
// (CI systems set it to the person or pipeline that triggered the run).
func Actor() string {
	if a := strings.TrimSpace(os.Getenv("PAYCTL_ACTOR")); a != "" {
		return a
	}
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// NewLockInfo describes this process taking a state's lock for op.
func NewLockInfo(op string, now time.Time) LockInfo {
	host, _ := os.Hostname()
	who, _, _ := strings.Cut(Actor(), "@")
	return LockInfo{
		ID: uuid.NewString(), Who: who, Host: host, PID: os.Getpid(),
		Operation: op, Since: now.UTC(),
	}
}
