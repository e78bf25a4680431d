// Package wire holds the facts of Cronos Engine's HTTP protocol that the
// client and the emulator must agree on: header names, the signature, the
// time zone of its dates, the documented demo credentials. Keeping them in
// one place means the emulator cannot drift from the client on them; the
// emulator's independent part is how it decodes and re-encodes bodies.
//
// They are not in package cronos because the client's own tests, inside
// that package, run against the emulator: an emulator importing the client
// would make an import cycle.
package wire

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"time"
)

// Request headers.
const (
	HeaderKey       = "On-Key"
	HeaderToken     = "On-Token"
	HeaderSignature = "On-Signature"
)

// The docs' own demo credentials; the published signature vectors use them,
// and the emulator accepts them.
const (
	DemoKey   = "SC-KRW9ESNZUUKQXOOX"
	DemoToken = "jlaVHot4XGnCqYU8FI20GHwkv6RMOT2t"
)

// Zone is Cronos's time zone (WIB, +07:00): its dates and the date filter
// of /transactions are in it.
var Zone = time.FixedZone("WIB", 7*60*60)

// DateLayout is the layout of the /transactions date filter.
const DateLayout = "2006-01-02"

// Retention is how long Cronos keeps transactions (docs: 7 days).
const Retention = 7 * 24 * time.Hour

// Sign returns hex(HMAC-SHA512(key=token, msg=projectKey+body)), the
// On-Signature of a request. A GET has no body: it signs the key alone.
func Sign(projectKey, token string, body []byte) string {
	m := hmac.New(sha512.New, []byte(token))
	m.Write([]byte(projectKey))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Valid reports whether sig is the signature of body, in constant time.
func Valid(projectKey, token string, body []byte, sig string) bool {
	want := Sign(projectKey, token, body)
	return hmac.Equal([]byte(want), []byte(sig))
}
