package config

// Suggest returns the candidate closest to name when it is close enough to be a likely typo
// (edit distance at most 2, or a third of the name's length for long names), else "".
func Suggest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(name, c)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if l := len(name) / 3; l > limit {
		limit = l
	}
	if bestD < 0 || bestD > limit || bestD == 0 && best == name {
		return ""
	}
	return best
}

// distance is the Levenshtein distance, case-insensitive for ASCII (typos of env var names are
// often case slips).
func distance(a, b string) int {
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if lower(a[i-1]) == lower(b[j-1]) {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
