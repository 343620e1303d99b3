package image

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-project/skiff/test/images"
)

// fakeDisk is a filesystem whose usage tests set, lowered by what the store frees.
type fakeDisk struct{ used, total uint64 }

func (d *fakeDisk) usage(string) (uint64, uint64, error) { return d.used, d.total, nil }

const kib = 1024

// sizedImage is an image whose one layer holds size bytes of content unique to tag.
func sizedImage(t *testing.T, tag string, size int) v1.Image {
	t.Helper()
	data := bytes.Repeat([]byte(tag[:1]), size)
	img, err := images.Image(v1Config(tag), mustLayer(t, images.File{Name: tag, Mode: 0o644, Data: data}))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestGC(t *testing.T) {
	for _, tc := range []struct {
		name        string
		usedPercent uint64
		high, low   int
		wantGone    []string
		wantErr     bool
	}{
		{"below the high threshold", 84, 85, 80, nil, false},
		// 100 KiB to free: the least recently used unused image is enough.
		{"one image", 90, 85, 80, []string{"a"}, false},
		// 200 KiB: the two least recently used.
		{"two images", 90, 85, 70, []string{"a", "b"}, false},
		// 400 KiB: more than all unused images; the one in use and the one used a
		// moment ago stay.
		{"not enough", 90, 85, 50, []string{"a", "b", "c"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			disk := &fakeDisk{total: 1000 * kib}
			s := openStore(t, t.TempDir(), WithClock(clock.now), WithUsageFunc(disk.usage), WithGCMinAge(2*time.Minute))
			ids := map[string]string{}
			// Imported (last used) in the order c, a, b, inuse, fresh; then c is used
			// again, so a is the least recently used.
			for _, tag := range []string{"c", "a", "b", "inuse"} {
				ids[tag] = importImage(t, s, "example.com/"+tag+":v1", sizedImage(t, tag, 100*kib)).ID
				clock.advance(time.Hour)
			}
			release := s.Use(ids["c"])
			release()
			clock.advance(time.Hour)
			defer s.Use(ids["inuse"])()
			ids["fresh"] = importImage(t, s, "example.com/fresh:v1", sizedImage(t, "fresh", 100*kib)).ID
			clock.advance(time.Minute) // younger than the minimum age

			disk.used = tc.usedPercent * disk.total / 100
			freed, err := s.GC(context.Background(), tc.high, tc.low)
			if (err != nil) != tc.wantErr {
				t.Fatalf("GC: freed %d, err %v; want error %v", freed, err, tc.wantErr)
			}
			var gone []string
			for _, tag := range []string{"a", "b", "c", "inuse", "fresh"} {
				if _, ok := s.Get(ids[tag]); !ok {
					gone = append(gone, tag)
				}
			}
			if !slices.Equal(gone, tc.wantGone) {
				t.Errorf("deleted %v, want %v (in that order of last use)", gone, tc.wantGone)
			}
			if min := int64(len(tc.wantGone)) * 100 * kib; freed < min {
				t.Errorf("freed %d bytes, want at least %d", freed, min)
			}
		})
	}
}

func TestGCKeepsSharedLayers(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	disk := &fakeDisk{total: 100 * kib, used: 99 * kib}
	s := openStore(t, t.TempDir(), WithClock(clock.now), WithUsageFunc(disk.usage))
	base := mustLayer(t, images.File{Name: "base", Mode: 0o644, Data: []byte("shared base")})
	mk := func(tag string) v1.Image {
		img, err := images.Image(v1Config(tag), base, mustLayer(t, images.File{Name: tag, Mode: 0o644, Data: []byte(tag)}))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	old := importImage(t, s, "example.com/old:v1", mk("old"))
	clock.advance(time.Hour)
	kept := importImage(t, s, "example.com/kept:v1", mk("kept"))
	defer s.Use(kept.ID)()
	clock.advance(time.Hour)

	if _, err := s.GC(context.Background(), 90, 80); err == nil {
		t.Error("GC reported success with too little to free")
	}
	if _, ok := s.Get(old.ID); ok {
		t.Error("the unused image survived")
	}
	for _, l := range s.images[kept.ID].Layers {
		if _, err := s.layerInfo(hexOf(l.DiffID)); err != nil {
			t.Errorf("layer %s of the image in use went: %v", l.DiffID, err)
		}
	}
}

func TestGCThresholds(t *testing.T) {
	s := openStore(t, t.TempDir())
	for _, th := range [][2]int{{0, 0}, {101, 50}, {80, 90}, {80, -1}} {
		if _, err := s.GC(context.Background(), th[0], th[1]); err == nil {
			t.Errorf("GC(%d, %d) accepted", th[0], th[1])
		}
	}
	// The real filesystem: a test machine is not 100% full.
	if freed, err := s.GC(context.Background(), 100, 90); err != nil || freed != 0 {
		t.Errorf("GC on the real disk: %d, %v", freed, err)
	}
}
