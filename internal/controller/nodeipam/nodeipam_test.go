package nodeipam

import (
	"errors"
	"testing"
)

func TestAllocator(t *testing.T) {
	tests := []struct {
		name    string
		cidr    string
		mask    int
		occupy  map[string]string
		release []string
		nodes   []string
		want    []string
		wantErr error
	}{
		{name: "in order", cidr: "10.64.0.0/10", mask: 24, nodes: []string{"a", "b", "c"},
			want: []string{"10.64.0.0/24", "10.64.1.0/24", "10.64.2.0/24"}},
		{name: "existing ranges are skipped", cidr: "10.42.0.0/16", mask: 24,
			occupy: map[string]string{"x": "10.42.0.0/24", "y": "10.42.2.0/24", "z": "192.168.0.0/24"},
			nodes:  []string{"a", "b"}, want: []string{"10.42.1.0/24", "10.42.3.0/24"}},
		{name: "a node keeps its range", cidr: "10.42.0.0/16", mask: 24, occupy: map[string]string{"a": "10.42.7.0/24"},
			nodes: []string{"a"}, want: []string{"10.42.7.0/24"}},
		{name: "full", cidr: "10.0.0.0/23", mask: 24, nodes: []string{"a", "b", "c"},
			want: []string{"10.0.0.0/24", "10.0.1.0/24", ""}, wantErr: ErrFull},
		{name: "released ranges come back", cidr: "10.0.0.0/23", mask: 24, occupy: map[string]string{"x": "10.0.0.0/24", "y": "10.0.1.0/24"},
			release: []string{"x"}, nodes: []string{"a"}, want: []string{"10.0.0.0/24"}},
		{name: "ipv6", cidr: "fd00:10::/48", mask: 64, nodes: []string{"a", "b"}, want: []string{"fd00:10::/64", "fd00:10:0:1::/64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAllocator(tc.cidr, tc.mask)
			if err != nil {
				t.Fatal(err)
			}
			for n, c := range tc.occupy {
				if err := a.Occupy(n, c); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range tc.release {
				a.Release(n)
			}
			for i, n := range tc.nodes {
				got, err := a.Allocate(n)
				if got != tc.want[i] {
					t.Errorf("node %s: got %q, want %q", n, got, tc.want[i])
				}
				if err != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("node %s: %v", n, err)
				}
			}
		})
	}
	a, _ := NewAllocator("10.0.0.0/16", 24)
	_ = a.Occupy("a", "10.0.3.0/24")
	if err := a.Occupy("b", "10.0.3.0/24"); err == nil {
		t.Error("a range held by two nodes was not reported")
	}
	if _, err := NewAllocator("10.0.0.0/16", 8); err == nil {
		t.Error("mask shorter than the cluster CIDR accepted")
	}
}
