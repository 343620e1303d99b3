package job

import (
	"sort"
	"strconv"
	"strings"
)

// Interval is a closed range of completion indexes, First <= Last.
type Interval struct{ First, Last int }

// Indexes is a set of completion indexes kept as ordered, disjoint and non-adjacent intervals:
// the form of status.completedIndexes, status.failedIndexes and a success policy rule's
// succeededIndexes. The zero value is the empty set.
type Indexes []Interval

// ParseIndexes reads upstream's compressed format, "1,3-5,7": comma-separated indexes and
// ranges. Indexes at or above completions are dropped and a range reaching past them is cut,
// as upstream does; malformed elements (not a number, a negative number, a range whose end is
// below its start) are skipped, as upstream skips corrupted intervals. Unlike upstream's
// parser, elements may come in any order and overlap: the result is normalised.
func ParseIndexes(s string, completions int) Indexes {
	if s == "" {
		return nil
	}
	var ivs []Interval
	for _, el := range strings.Split(s, ",") {
		iv, ok := parseInterval(el)
		if !ok || iv.First >= completions {
			continue
		}
		iv.Last = min(iv.Last, completions-1)
		ivs = append(ivs, iv)
	}
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].First < ivs[j].First })
	return Indexes(nil).Merge(ivs)
}

// parseInterval reads "N" or "N-M".
func parseInterval(s string) (Interval, bool) {
	a, b, isRange := strings.Cut(s, "-")
	first, err := strconv.Atoi(a)
	if err != nil || first < 0 {
		return Interval{}, false
	}
	last := first
	if isRange {
		if last, err = strconv.Atoi(b); err != nil || last < first {
			return Interval{}, false
		}
	}
	return Interval{first, last}, true
}

// String writes x in upstream's compressed format: ranges of three or more indexes as
// "first-last", a pair as "first,last" ("0,1,3-5").
func (x Indexes) String() string {
	var b strings.Builder
	for _, iv := range x {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(iv.First))
		switch {
		case iv.Last == iv.First+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(iv.Last))
		case iv.Last > iv.First:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(iv.Last))
		}
	}
	return b.String()
}

// Total is the number of indexes in x.
func (x Indexes) Total() int {
	n := 0
	for _, iv := range x {
		n += iv.Last - iv.First + 1
	}
	return n
}

// Has reports whether ix is in x.
func (x Indexes) Has(ix int) bool {
	i := sort.Search(len(x), func(i int) bool { return x[i].Last >= ix })
	return i < len(x) && x[i].First <= ix
}

// Merge returns the union of x and y, which must both be ordered by First (overlaps and
// adjacent intervals are joined).
func (x Indexes) Merge(y []Interval) Indexes {
	var out Indexes
	add := func(iv Interval) {
		if n := len(out); n > 0 && iv.First <= out[n-1].Last+1 {
			out[n-1].Last = max(out[n-1].Last, iv.Last)
			return
		}
		out = append(out, iv)
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		if j == len(y) || (i < len(x) && x[i].First < y[j].First) {
			add(x[i])
			i++
		} else {
			add(y[j])
			j++
		}
	}
	return out
}

// With returns the union of x and the indexes ixs, in any order.
func (x Indexes) With(ixs ...int) Indexes {
	if len(ixs) == 0 {
		return x
	}
	s := append([]int(nil), ixs...)
	sort.Ints(s)
	ivs := make([]Interval, len(s))
	for i, ix := range s {
		ivs[i] = Interval{ix, ix}
	}
	return x.Merge(ivs)
}

// Overlap is the number of indexes in both x and y.
func (x Indexes) Overlap(y Indexes) int {
	n, i, j := 0, 0, 0
	for i < len(x) && j < len(y) {
		if o := min(x[i].Last, y[j].Last) - max(x[i].First, y[j].First) + 1; o > 0 {
			n += o
		}
		if x[i].Last < y[j].Last {
			i++
		} else {
			j++
		}
	}
	return n
}

// firstMissing returns up to n indexes below completions that are not in x, lowest first.
func (x Indexes) firstMissing(n, completions int) []int {
	var out []int
	candidate := 0
	for _, iv := range x {
		for ; candidate < completions && len(out) < n && candidate < iv.First; candidate++ {
			out = append(out, candidate)
		}
		candidate = max(candidate, iv.Last+1)
	}
	for ; candidate < completions && len(out) < n; candidate++ {
		out = append(out, candidate)
	}
	return out
}
