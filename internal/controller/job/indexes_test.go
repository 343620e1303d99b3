package job

import (
	"fmt"
	"slices"
	"testing"
)

func TestParseIndexes(t *testing.T) {
	tests := []struct {
		in          string
		completions int
		want        string // String of the result
		total       int
	}{
		{"", 10, "", 0},
		{"0", 10, "0", 1},
		{"0-4", 5, "0-4", 5},
		{"1,3-5,7", 10, "1,3-5,7", 5},
		{"0,1", 10, "0,1", 2},                     // a pair is written "0,1", as upstream
		{"0-1", 10, "0,1", 2},                     // and read either way
		{"0,1,2", 10, "0-2", 3},                   // adjacent indexes join
		{"1-3,4-6", 10, "1-6", 6},                 // adjacent ranges too
		{"5,1,3", 10, "1,3,5", 3},                 // out of order
		{"1-5,3-7", 10, "1-7", 7},                 // overlapping
		{"3-9", 5, "3,4", 2},                      // cut at completions
		{"2,7,9", 5, "2", 1},                      // beyond completions
		{"x,2,-1,4-2,1-2-3,,6", 10, "2,6", 2},     // malformed elements skipped
		{"+3", 10, "3", 1},                        // strconv's sign is accepted
		{"99999999999999999999999,1", 10, "1", 1}, // overflow skipped
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			x := ParseIndexes(tt.in, tt.completions)
			if x.String() != tt.want || x.Total() != tt.total {
				t.Errorf("ParseIndexes(%q, %d) = %q (%d), want %q (%d)", tt.in, tt.completions, x, x.Total(), tt.want, tt.total)
			}
		})
	}
}

func TestIndexesOps(t *testing.T) {
	x := ParseIndexes("1,3-5,9", 20)
	for ix, want := range map[int]bool{0: false, 1: true, 2: false, 3: true, 4: true, 5: true, 6: false, 9: true, 10: false} {
		if x.Has(ix) != want {
			t.Errorf("Has(%d) = %v", ix, !want)
		}
	}
	if got := x.With(2, 0, 6, 10).String(); got != "0-6,9,10" {
		t.Errorf("With = %q", got)
	}
	if got := x.Merge(ParseIndexes("0,4-8", 20)).String(); got != "0,1,3-9" {
		t.Errorf("Merge = %q", got)
	}
	if got := x.Overlap(ParseIndexes("0-3,5-20", 21)); got != 4 {
		t.Errorf("Overlap = %d, want 4 (1, 3, 5, 9)", got)
	}
	if got := fmt.Sprint(x.firstMissing(4, 20)); got != "[0 2 6 7]" {
		t.Errorf("firstMissing(4) = %s", got)
	}
	if got := fmt.Sprint(x.firstMissing(10, 8)); got != "[0 2 6 7]" {
		t.Errorf("firstMissing below 8 = %s", got)
	}
	if x.String() != "1,3-5,9" {
		t.Errorf("operations modified their receiver: %q", x)
	}
}

// checkNormal fails unless x is ordered, disjoint, non-adjacent and within [0, completions).
func checkNormal(t *testing.T, x Indexes, completions int) {
	t.Helper()
	for i, iv := range x {
		if iv.First < 0 || iv.Last < iv.First || iv.Last >= completions || (i > 0 && iv.First <= x[i-1].Last+1) {
			t.Fatalf("not normal: %v (completions %d)", x, completions)
		}
	}
}

// FuzzParseIndexes: whatever the input, the result is normal and reads back the same from
// its own format.
func FuzzParseIndexes(f *testing.F) {
	for _, s := range []string{"", "1,3-5,7", "0,1", "5-1", "1-2-3", "3,1,2", "0-100000", ",,", "-"} {
		f.Add(s, uint16(10))
	}
	f.Fuzz(func(t *testing.T, s string, c uint16) {
		completions := int(c)
		x := ParseIndexes(s, completions)
		checkNormal(t, x, max(completions, 1))
		again := ParseIndexes(x.String(), completions)
		if !slices.Equal(x, again) {
			t.Fatalf("%q: parsed %v, formatted %q, parsed again %v", s, x, x.String(), again)
		}
		if x.Total() != again.Total() {
			t.Fatalf("totals differ")
		}
	})
}

// FuzzIndexesRoundTrip: any set of indexes, formatted and parsed, is the same set.
func FuzzIndexesRoundTrip(f *testing.F) {
	f.Add([]byte{0, 1, 2, 5, 7, 8})
	f.Add([]byte{})
	f.Add([]byte{255, 0, 128, 3, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		want := map[int]bool{}
		var ixs []int
		for _, v := range b {
			want[int(v)] = true
			ixs = append(ixs, int(v))
		}
		x := Indexes(nil).With(ixs...)
		checkNormal(t, x, 256)
		if x.Total() != len(want) {
			t.Fatalf("%v: total %d, want %d", b, x.Total(), len(want))
		}
		back := ParseIndexes(x.String(), 256)
		if !slices.Equal(x, back) {
			t.Fatalf("%v: %q parsed as %v, want %v", b, x.String(), back, x)
		}
		for ix := 0; ix < 256; ix++ {
			if back.Has(ix) != want[ix] {
				t.Fatalf("%v: Has(%d) = %v", b, ix, !want[ix])
			}
		}
	})
}
