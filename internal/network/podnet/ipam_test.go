package podnet

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newStore(t *testing.T, dir string) *ipamStore {
	t.Helper()
	s, err := openIPAMStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIPAMAllocateIsIdempotentPerPod(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	r := mustRange(t, "10.42.0.0/24")

	a1, fresh, err := s.allocate(r, "pod-a")
	if err != nil || !fresh || a1 != netip.MustParseAddr("10.42.0.2") {
		t.Fatalf("first allocate = %s, %v, %v; want 10.42.0.2, fresh", a1, fresh, err)
	}
	again, fresh, err := s.allocate(r, "pod-a")
	if err != nil || fresh || again != a1 {
		t.Fatalf("second allocate for the same pod = %s, %v, %v; want %s, not fresh", again, fresh, err, a1)
	}
	b, _, err := s.allocate(r, "pod-b")
	if err != nil || b == a1 {
		t.Fatalf("allocate for another pod = %s, %v; want an address other than %s", b, err, a1)
	}
	content, err := os.ReadFile(filepath.Join(dir, "10.42.0.2"))
	if err != nil || string(content) != "pod-a" {
		t.Fatalf("record 10.42.0.2 = %q, %v; want the pod UID", content, err)
	}
	// A second store over the same directory (a restarted agent) sees the same records.
	s2 := newStore(t, dir)
	if again, fresh, err := s2.allocate(r, "pod-a"); err != nil || fresh || again != a1 {
		t.Fatalf("allocate after reopening = %s, %v, %v; want %s", again, fresh, err, a1)
	}
}

func TestIPAMRoundRobinAndRelease(t *testing.T) {
	s := newStore(t, t.TempDir())
	r := mustRange(t, "10.42.0.0/29") // .2 to .6

	var got []string
	for _, pod := range []string{"a", "b", "c"} {
		a, _, err := s.allocate(r, pod)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	if want := "10.42.0.2 10.42.0.3 10.42.0.4"; strings.Join(got, " ") != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	released, err := s.releasePod("a")
	if err != nil || len(released) != 1 || released[0].String() != "10.42.0.2" {
		t.Fatalf("releasePod(a) = %v, %v", released, err)
	}
	// The released address is not the next one handed out...
	d, _, err := s.allocate(r, "d")
	if err != nil || d.String() != "10.42.0.5" {
		t.Fatalf("allocate(d) = %s, %v; want 10.42.0.5", d, err)
	}
	e, _, _ := s.allocate(r, "e")
	if e.String() != "10.42.0.6" {
		t.Fatalf("allocate(e) = %s; want 10.42.0.6", e)
	}
	// ...but it returns to the pool once the search wraps around.
	f, _, err := s.allocate(r, "f")
	if err != nil || f.String() != "10.42.0.2" {
		t.Fatalf("allocate(f) = %s, %v; want the released 10.42.0.2", f, err)
	}
	if released, err := s.releasePod("nobody"); err != nil || len(released) != 0 {
		t.Fatalf("releasePod of an unknown pod = %v, %v; want nothing, no error", released, err)
	}
}

func TestIPAMExhaustion(t *testing.T) {
	tests := []struct {
		cidr string
		pods int
	}{
		{"10.42.3.0/30", 1},
		{"10.42.3.8/29", 5},
		{"fd00:42::/125", 5},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			s := newStore(t, t.TempDir())
			r := mustRange(t, tt.cidr)
			seen := map[netip.Addr]bool{}
			for i := range tt.pods {
				a, _, err := s.allocate(r, fmt.Sprintf("pod-%d", i))
				if err != nil {
					t.Fatalf("pod %d: %v", i, err)
				}
				if seen[a] {
					t.Fatalf("pod %d got %s twice", i, a)
				}
				seen[a] = true
			}
			_, _, err := s.allocate(r, "one-too-many")
			if !errors.Is(err, ErrPodCIDRExhausted) {
				t.Fatalf("allocate beyond capacity: err = %v, want ErrPodCIDRExhausted", err)
			}
			want := fmt.Sprintf("podCIDR exhausted: no address left in the node's podCIDR %s (%d of %d in use by other pods)", tt.cidr, tt.pods, tt.pods)
			if err.Error() != want {
				t.Fatalf("error = %q\nwant    %q", err, want)
			}
			// A pod that has an address still gets it when the range is full.
			if _, fresh, err := s.allocate(r, "pod-0"); err != nil || fresh {
				t.Fatalf("allocate for a pod that has an address, range full: fresh=%v err=%v", fresh, err)
			}
		})
	}
}

// TestIPAMSkipsTakenRecords checks that an address recorded by someone else between our read
// and our create (simulated by a record the search does not know about) is skipped.
func TestIPAMSkipsTakenRecords(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	r := mustRange(t, "10.42.0.0/29")
	if err := s.create(netip.MustParseAddr("10.42.0.2"), "other"); err != nil {
		t.Fatal(err)
	}
	if err := s.create(netip.MustParseAddr("10.42.0.2"), "again"); err == nil {
		t.Fatal("create of a taken address succeeded")
	}
	a, _, err := s.allocate(r, "mine")
	if err != nil || a.String() != "10.42.0.3" {
		t.Fatalf("allocate = %s, %v; want 10.42.0.3", a, err)
	}
	// Files that are not records are ignored.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := s.records()
	if err != nil || len(recs) != 2 {
		t.Fatalf("records = %v, %v; want 2", recs, err)
	}
}

// TestIPAMConcurrentStores runs two stores over one directory, as two agents sharing a state
// dir would, allocating concurrently; no address may be handed out twice.
func TestIPAMConcurrentStores(t *testing.T) {
	dir := t.TempDir()
	stores := []*ipamStore{newStore(t, dir), newStore(t, dir)}
	r := mustRange(t, "10.42.0.0/26") // 61 addresses
	const perWorker = 15
	var wg sync.WaitGroup
	results := make(chan netip.Addr, 4*perWorker)
	errs := make(chan error, 4*perWorker)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for i := range perWorker {
				a, _, err := s.allocate(r, fmt.Sprintf("w%d-pod%d", w, i))
				if err != nil {
					errs <- err
					return
				}
				results <- a
			}
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for a := range results {
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
	}
	if len(seen) != 4*perWorker {
		t.Fatalf("%d addresses handed out, want %d", len(seen), 4*perWorker)
	}
	recs, _ := stores[0].records()
	if len(recs) != 4*perWorker {
		t.Fatalf("%d records, want %d", len(recs), 4*perWorker)
	}
}
