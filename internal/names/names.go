// Package names compares a person's name as a manifest gives it with the
// name a bank reports for the account. Banks upper-case names, drop or keep
// accents, and prefix titles ("Mr. Gentur" in Cronos' published example,
// "BAPAK BUDI" in Indonesian banks' records); none of that makes a
// different person. Anything else does: the comparison is exact after
// normalising, never fuzzy, so a flagged name is for a person to look at.
package names

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// titles are honorifics dropped from the start of a name, after
// normalising (lower case, no accents, no dots). English ones, and the
// Indonesian and Malay ones banks there put in account names.
var titles = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "miss": true, "mx": true, "dr": true, "prof": true,
	"sir": true, "madam": true, "mdm": true,
	"bapak": true, "bpk": true, "pak": true, "ibu": true, "bu": true,
	"sdr": true, "sdri": true, "saudara": true, "saudari": true,
	"tuan": true, "tn": true, "nyonya": true, "ny": true, "nona": true, "nn": true,
	"encik": true, "cik": true,
}

// Normal is name normalised for comparison: accents removed, lower case,
// punctuation read as space, runs of space collapsed, and leading titles
// dropped (all of them: "Mrs. Dr. Ann" is "ann"). A name made only of
// titles is kept as it is, so that it still compares as itself.
func Normal(name string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	s, _, err := transform.String(t, name)
	if err != nil {
		s = name
	}
	s = strings.ToLower(s)
	words := strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (unicode.IsPunct(r) && r != '\'' && r != '-') || r == '\u00b7'
	})
	i := 0
	for i < len(words)-1 && titles[words[i]] {
		i++
	}
	return strings.Join(words[i:], " ")
}

// Same reports whether two names are the same after normalising. An empty
// name (the bank gave none) is never the same as anything: callers decide
// what a missing name means.
func Same(a, b string) bool {
	na, nb := Normal(a), Normal(b)
	return na != "" && na == nb
}
