package main

// suggestion is the name among names closest to a mistyped one: within
// two edits (one for names of up to four letters), or of which it is a
// prefix; "" when none is close or two are equally close.
func suggestion(typed string, names []string) string {
	best, bestD, tie := "", 1<<30, false
	for _, n := range names {
		d := editDistance(typed, n)
		if len(typed) >= 2 && len(typed) < len(n) && n[:len(typed)] == typed {
			d = min(d, 1)
		}
		switch {
		case d < bestD:
			best, bestD, tie = n, d, false
		case d == bestD:
			tie = true
		}
	}
	limit := 2
	if len(typed) <= 4 {
		limit = 1
	}
	if bestD > limit || tie {
		return ""
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment): a swap of two neighbouring letters is one edit.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func commandNames(cs []command) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	return names
}
