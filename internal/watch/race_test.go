//go:build race

package watch

// The race detector makes file-heavy tests many times slower; the large
// cases run at a smaller size under it.
const raceEnabled = true
