package podnet

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ErrPodCIDRExhausted is returned, wrapped in an error that names the CIDR, when a podCIDR
// has no address left for a new pod.
var ErrPodCIDRExhausted = errors.New("podCIDR exhausted")

// lastReservedPrefix begins the name of the file that records, per podCIDR, the address
// handed out last (host-local's "last_reserved_ip").
const lastReservedPrefix = "last_reserved_ip."

// ipamStore keeps IPAM records in a directory, host-local style: one file per allocated
// address, named by the address and holding the pod's UID. The directory is the truth: it is
// read on every call, and a record is created with O_EXCL, so two stores over one directory
// (two agents, or an agent and its restarted self) never hand out one address twice.
type ipamStore struct {
	dir string
	mu  sync.Mutex // makes allocate's find-or-create atomic within this process
}

// openIPAMStore returns the store in dir, creating dir (0700) if missing.
func openIPAMStore(dir string) (*ipamStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ipam state dir: %w", err)
	}
	return &ipamStore{dir: dir}, nil
}

// records returns every allocated address and the UID it belongs to. A record whose content
// could not be written (a crash between create and write) has UID "".
func (s *ipamStore) records() (map[netip.Addr]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("ipam: read %s: %w", s.dir, err)
	}
	recs := make(map[netip.Addr]string, len(entries))
	for _, e := range entries {
		a, err := netip.ParseAddr(e.Name())
		if err != nil || !e.Type().IsRegular() {
			continue // last_reserved_ip.*, or something that is not ours
		}
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("ipam: %w", err)
		}
		recs[a] = strings.TrimSpace(string(b))
	}
	return recs, nil
}

// allocate returns the address of r that belongs to podUID, handing out a new one if the pod
// has none; fresh reports whether it is new.
func (s *ipamStore) allocate(r ipRange, podUID string) (a netip.Addr, fresh bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.records()
	if err != nil {
		return a, false, err
	}
	if a, ok := addrOf(recs, r, podUID); ok {
		return a, false, nil
	}
	last := s.lastReserved(r)
	for {
		a, ok := nextFree(r, last, recs)
		if !ok {
			return a, false, fmt.Errorf("%w: no address left in the node's podCIDR %s (%d of %d in use by other pods)",
				ErrPodCIDRExhausted, r.Prefix, countIn(recs, r), r.Size())
		}
		err := s.create(a, podUID)
		if errors.Is(err, fs.ErrExist) {
			// Another store took it between our read and our create.
			recs[a], last = "", a
			continue
		}
		if err != nil {
			return a, false, err
		}
		// The round-robin position is a hint: losing it only means starting again at First.
		_ = os.WriteFile(s.lastReservedPath(r), []byte(a.String()), 0o600)
		return a, true, nil
	}
}

// addrOf returns podUID's address within r, if recs has one.
func addrOf(recs map[netip.Addr]string, r ipRange, podUID string) (netip.Addr, bool) {
	var found netip.Addr
	for a, uid := range recs {
		// Of several (which only a crash mid-way could leave), take the lowest, so that
		// repeated calls agree.
		if uid == podUID && r.Contains(a) && (!found.IsValid() || a.Less(found)) {
			found = a
		}
	}
	return found, found.IsValid()
}

// countIn returns how many of recs lie in r.
func countIn(recs map[netip.Addr]string, r ipRange) int {
	n := 0
	for a := range recs {
		if r.Contains(a) {
			n++
		}
	}
	return n
}

// create records a for podUID; it fails with fs.ErrExist if a is taken.
func (s *ipamStore) create(a netip.Addr, podUID string) error {
	path := filepath.Join(s.dir, a.String())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	_, werr := f.WriteString(podUID)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("ipam: record %s for pod %s: %w", a, podUID, err)
	}
	return nil
}

// lastReserved returns the address last handed out from r, or the zero Addr.
func (s *ipamStore) lastReserved(r ipRange) netip.Addr {
	b, err := os.ReadFile(s.lastReservedPath(r))
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(strings.TrimSpace(string(b)))
	if err != nil {
		return netip.Addr{}
	}
	return a
}

func (s *ipamStore) lastReservedPath(r ipRange) string {
	return filepath.Join(s.dir, lastReservedPrefix+strings.ReplaceAll(r.Prefix.String(), "/", "_"))
}

// releasePod removes every record that belongs to podUID and returns the released addresses.
func (s *ipamStore) releasePod(podUID string) ([]netip.Addr, error) {
	return s.releaseIf(func(_ netip.Addr, uid string) bool { return uid == podUID })
}

// releaseIf removes every record for which drop is true and returns the released addresses.
func (s *ipamStore) releaseIf(drop func(a netip.Addr, podUID string) bool) ([]netip.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.records()
	if err != nil {
		return nil, err
	}
	var released []netip.Addr
	var errs []error
	for a, uid := range recs {
		if !drop(a, uid) {
			continue
		}
		err := os.Remove(filepath.Join(s.dir, a.String()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("ipam: release %s of pod %s: %w", a, uid, err))
			continue
		}
		released = append(released, a)
	}
	sortAddrs(released)
	return released, errors.Join(errs...)
}
