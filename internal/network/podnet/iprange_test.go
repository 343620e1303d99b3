package podnet

import (
	"net/netip"
	"strings"
	"testing"
)

func mustRange(t testing.TB, cidr string) ipRange {
	t.Helper()
	r, err := newIPRange(netip.MustParsePrefix(cidr))
	if err != nil {
		t.Fatalf("newIPRange(%s): %v", cidr, err)
	}
	return r
}

func addrs(ss ...string) map[netip.Addr]string {
	m := make(map[netip.Addr]string, len(ss))
	for _, s := range ss {
		m[netip.MustParseAddr(s)] = "pod-" + s
	}
	return m
}

func TestNewIPRange(t *testing.T) {
	tests := []struct {
		cidr                 string
		gateway, first, last string
		size                 uint64
		wantErr              string
	}{
		{cidr: "10.42.0.0/24", gateway: "10.42.0.1", first: "10.42.0.2", last: "10.42.0.254", size: 253},
		{cidr: "10.42.7.0/29", gateway: "10.42.7.1", first: "10.42.7.2", last: "10.42.7.6", size: 5},
		{cidr: "10.42.7.4/30", gateway: "10.42.7.5", first: "10.42.7.6", last: "10.42.7.6", size: 1},
		{cidr: "10.0.0.0/8", gateway: "10.0.0.1", first: "10.0.0.2", last: "10.255.255.254", size: 1<<24 - 3},
		{cidr: "fd00:42::/64", gateway: "fd00:42::1", first: "fd00:42::2", last: "fd00:42::ffff:ffff:ffff:fffe", size: ^uint64(0)},
		{cidr: "fd00:42::/120", gateway: "fd00:42::1", first: "fd00:42::2", last: "fd00:42::fe", size: 253},
		{cidr: "fd00:42::4/126", gateway: "fd00:42::5", first: "fd00:42::6", last: "fd00:42::6", size: 1},
		{cidr: "10.42.0.0/31", wantErr: "no room for a pod: want /30 or wider"},
		{cidr: "10.42.0.1/32", wantErr: "no room"},
		{cidr: "fd00::/127", wantErr: "want /126 or wider"},
		{cidr: "10.42.0.1/24", wantErr: "not a network address"},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			r, err := newIPRange(netip.MustParsePrefix(tt.cidr))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := [3]string{r.Gateway.String(), r.First.String(), r.Last.String()}
			if want := [3]string{tt.gateway, tt.first, tt.last}; got != want {
				t.Errorf("gateway, first, last = %v, want %v", got, want)
			}
			if r.Size() != tt.size {
				t.Errorf("Size = %d, want %d", r.Size(), tt.size)
			}
			for _, reserved := range []netip.Addr{r.Prefix.Addr(), r.Gateway, lastAddr(r.Prefix)} {
				if r.Contains(reserved) {
					t.Errorf("Contains(%s) = true for a reserved address", reserved)
				}
			}
		})
	}
}

func TestNextFree(t *testing.T) {
	tests := []struct {
		name string
		cidr string
		last string // "" for none
		used map[netip.Addr]string
		want string // "" for exhausted
	}{
		{name: "empty /30 hands out its one address", cidr: "10.42.0.0/30", want: "10.42.0.2"},
		{name: "full /30 is exhausted", cidr: "10.42.0.0/30", last: "10.42.0.2", used: addrs("10.42.0.2")},
		{name: "empty /29 starts at first", cidr: "10.42.0.0/29", want: "10.42.0.2"},
		{name: "continues after last", cidr: "10.42.0.0/29", last: "10.42.0.3", used: addrs("10.42.0.2", "10.42.0.3"), want: "10.42.0.4"},
		{name: "does not reuse a released address at once", cidr: "10.42.0.0/29", last: "10.42.0.3", used: addrs("10.42.0.3"), want: "10.42.0.4"},
		{name: "wraps after the last address", cidr: "10.42.0.0/29", last: "10.42.0.6", used: addrs("10.42.0.6"), want: "10.42.0.2"},
		{name: "wraps and skips used", cidr: "10.42.0.0/29", last: "10.42.0.5", used: addrs("10.42.0.6", "10.42.0.2", "10.42.0.5"), want: "10.42.0.3"},
		{name: "skips used after last", cidr: "10.42.0.0/29", last: "10.42.0.2", used: addrs("10.42.0.2", "10.42.0.3", "10.42.0.4"), want: "10.42.0.5"},
		{name: "full /29 is exhausted", cidr: "10.42.0.0/29", last: "10.42.0.4", used: addrs("10.42.0.2", "10.42.0.3", "10.42.0.4", "10.42.0.5", "10.42.0.6")},
		{name: "records outside the range do not count", cidr: "10.42.0.0/29", used: addrs("10.42.1.2", "10.42.0.2"), want: "10.42.0.3"},
		{name: "last outside the range means first", cidr: "10.42.0.0/29", last: "10.42.9.9", want: "10.42.0.2"},
		{name: "last being the gateway means first", cidr: "10.42.0.0/29", last: "10.42.0.1", want: "10.42.0.2"},
		{name: "last of the other family means first", cidr: "10.42.0.0/29", last: "fd00::3", want: "10.42.0.2"},
		{name: "IPv6 /64 starts after the gateway", cidr: "fd00:42::/64", want: "fd00:42::2"},
		{name: "IPv6 /64 continues after last", cidr: "fd00:42::/64", last: "fd00:42::9", used: addrs("fd00:42::9", "fd00:42::a"), want: "fd00:42::b"},
		{name: "IPv6 /64 wraps at the top", cidr: "fd00:42::/64", last: "fd00:42::ffff:ffff:ffff:fffe", used: addrs("fd00:42::ffff:ffff:ffff:fffe", "fd00:42::2"), want: "fd00:42::3"},
		{name: "IPv6 /64 crosses a 32-bit boundary", cidr: "fd00:42::/64", last: "fd00:42::ffff:ffff", want: "fd00:42::1:0:0"},
		{name: "IPv6 /126 hands out its one address", cidr: "fd00:42::/126", want: "fd00:42::2"},
		{name: "full IPv6 /126 is exhausted", cidr: "fd00:42::/126", used: addrs("fd00:42::2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRange(t, tt.cidr)
			var last netip.Addr
			if tt.last != "" {
				last = netip.MustParseAddr(tt.last)
			}
			got, ok := nextFree(r, last, tt.used)
			if tt.want == "" {
				if ok {
					t.Fatalf("nextFree = %s, want exhausted", got)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tt.want) {
				t.Fatalf("nextFree = %s, %v, want %s", got, ok, tt.want)
			}
		})
	}
}

// TestNextFreeExhausts hands out a /29 and a /30 address by address, as IPAM does, and
// checks the order and the point of exhaustion.
func TestNextFreeExhausts(t *testing.T) {
	tests := []struct {
		cidr string
		want []string
	}{
		{"10.42.0.0/30", []string{"10.42.0.2"}},
		{"10.42.0.8/29", []string{"10.42.0.10", "10.42.0.11", "10.42.0.12", "10.42.0.13", "10.42.0.14"}},
		{"fd00::/125", []string{"fd00::2", "fd00::3", "fd00::4", "fd00::5", "fd00::6"}},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			r := mustRange(t, tt.cidr)
			used := map[netip.Addr]string{}
			var last netip.Addr
			var got []string
			for {
				a, ok := nextFree(r, last, used)
				if !ok {
					break
				}
				if len(got) > len(tt.want) {
					t.Fatalf("handed out more than %d addresses: %v", len(tt.want), got)
				}
				got = append(got, a.String())
				used[a], last = "pod", a
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("handed out %v, want %v", got, tt.want)
			}
			// Releasing one makes exactly that one free again.
			released := netip.MustParseAddr(tt.want[0])
			delete(used, released)
			if a, ok := nextFree(r, last, used); !ok || a != released {
				t.Fatalf("after releasing %s: nextFree = %s, %v", released, a, ok)
			}
		})
	}
}

func TestRangeFrom(t *testing.T) {
	r := mustRange(t, "10.42.0.0/29")
	collect := func(start string) string {
		var out []string
		for a := range r.From(netip.MustParseAddr(start)) {
			out = append(out, a.String())
		}
		return strings.Join(out, " ")
	}
	if got, want := collect("10.42.0.4"), "10.42.0.4 10.42.0.5 10.42.0.6 10.42.0.2 10.42.0.3"; got != want {
		t.Errorf("From(.4) = %s, want %s", got, want)
	}
	if got, want := collect("10.42.0.7"), "10.42.0.2 10.42.0.3 10.42.0.4 10.42.0.5 10.42.0.6"; got != want {
		t.Errorf("From(broadcast) = %s, want %s", got, want)
	}
	// Stopping early is allowed.
	for a := range r.From(r.First) {
		if a != r.First {
			t.Fatalf("first yield %s, want %s", a, r.First)
		}
		break
	}
}

// FuzzRangeFrom checks, for ranges small enough to walk, that From yields every address of
// the range exactly once, never a reserved one, beginning at start; and that nextFree agrees
// with a plain search.
func FuzzRangeFrom(f *testing.F) {
	f.Add(false, []byte{10, 42, 0, 0}, uint8(29), uint16(3), uint64(0x5))
	f.Add(false, []byte{10, 42, 0, 4}, uint8(30), uint16(0), uint64(0))
	f.Add(true, []byte{0xfd, 0, 0, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(120), uint16(200), uint64(0xffff))
	f.Add(false, []byte{255, 255, 255, 0}, uint8(24), uint16(253), uint64(1))
	f.Fuzz(func(t *testing.T, is6 bool, raw []byte, hostBits uint8, startOff uint16, usedBits uint64) {
		var a netip.Addr
		if is6 {
			var b [16]byte
			copy(b[:], raw)
			a = netip.AddrFrom16(b)
		} else {
			var b [4]byte
			copy(b[:], raw)
			a = netip.AddrFrom4(b)
		}
		hb := 2 + int(hostBits)%9 // 2..10 host bits: at most 1021 addresses
		p, err := a.Prefix(a.BitLen() - hb)
		if err != nil {
			t.Fatal(err)
		}
		r, err := newIPRange(p)
		if err != nil {
			t.Fatalf("newIPRange(%s): %v", p, err)
		}
		size := int(r.Size())
		if size != 1<<hb-3 {
			t.Fatalf("%s: Size = %d, want %d", p, size, 1<<hb-3)
		}
		// start is any address of the prefix, reserved ones included.
		start := p.Addr()
		for range int(startOff) % (1 << hb) {
			start = start.Next()
		}
		wantFirst := start
		if !r.Contains(start) {
			wantFirst = r.First
		}
		seen := map[netip.Addr]bool{}
		var seq []netip.Addr
		for x := range r.From(start) {
			if len(seq) == 0 && x != wantFirst {
				t.Fatalf("%s: From(%s) begins at %s, want %s", p, start, x, wantFirst)
			}
			if !p.Contains(x) || x == p.Addr() || x == r.Gateway || x == lastAddr(p) {
				t.Fatalf("%s: From(%s) yields %s, which is reserved or outside", p, start, x)
			}
			if seen[x] {
				t.Fatalf("%s: From(%s) yields %s twice", p, start, x)
			}
			seen[x] = true
			seq = append(seq, x)
			if len(seq) > size {
				t.Fatalf("%s: From(%s) yields more than %d addresses", p, start, size)
			}
		}
		if len(seq) != size {
			t.Fatalf("%s: From(%s) yields %d addresses, want %d", p, start, len(seq), size)
		}

		// Mark some addresses used (bit i of usedBits, repeated, for the i-th address of
		// the walk) and compare nextFree with a plain search of the walk after start.
		used := map[netip.Addr]string{}
		for i, x := range seq {
			if usedBits>>(i%64)&1 == 1 {
				used[x] = "pod"
			}
		}
		got, ok := nextFree(r, start, used)
		var want netip.Addr
		next := wantFirst
		if r.Contains(start) && start != r.Last {
			next = start.Next()
		} else if r.Contains(start) {
			next = r.First
		}
		for x := range r.From(next) {
			if _, taken := used[x]; !taken {
				want = x
				break
			}
		}
		if ok != want.IsValid() || got != want {
			t.Fatalf("%s: nextFree(last %s, %d used) = %s, %v; want %s", p, start, len(used), got, ok, want)
		}
	})
}
