package providers

import "testing"

func TestParseFaultSpec(t *testing.T) {
	for _, tc := range []struct {
		spec, name string
		count      int
		ok         bool
	}{
		{"5xx-after-commit", "5xx-after-commit", 0, true},
		{"429-burst=3", "429-burst", 3, true},
		{"429-burst:3", "429-burst", 3, true},
		{" quote-high=2 ", "quote-high", 2, true},
		{"quote-high=0", "quote-high", 0, false},
		{"quote-high:-1", "quote-high", -1, false},
		{"quote-high=", "quote-high", 0, false},
		{"quote-high=2x", "quote-high", 0, false},
	} {
		name, count, ok := ParseFaultSpec(tc.spec)
		if name != tc.name || ok != tc.ok || (ok && count != tc.count) {
			t.Errorf("%q: got %q, %d, %v; want %q, %d, %v", tc.spec, name, count, ok, tc.name, tc.count, tc.ok)
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"declined", 40, "declined"},
		{"line\nforged=1\x1b[2J\x7f", 40, "line forged=1 [2J "},
		{"bad \xff byte", 40, "bad ? byte"},
		{"abcdef", 4, "abcd..."},
		{"añb", 2, "a..."}, // ñ is two bytes: never cut in half
	} {
		if got := Clip(tc.in, tc.max); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
