package etcd

import (
	"context"
	"testing"
)

func TestEmbeddedPutGet(t *testing.T) {
	ctx := context.Background()
	e, err := StartEmbedded(ctx, EmbeddedConfig{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Client.Put(ctx, "/registry/x", "y"); err != nil {
		t.Fatal(err)
	}
	r, err := e.Client.Get(ctx, "/registry/x")
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "y" {
		t.Fatalf("get: %v %v", r, err)
	}
}

func TestShouldDefrag(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		size, inUse int64
		want        bool
	}{
		{100 * mib, 90 * mib, false}, // little free
		{100 * mib, 30 * mib, true},  // 70 MiB and 70% free
		{100 * mib, 50 * mib, false}, // half free but under 64 MiB
		{1024 * mib, 600 * mib, false},
		{1024 * mib, 400 * mib, true},
	} {
		if got := ShouldDefrag(c.size, c.inUse); got != c.want {
			t.Errorf("size %d in use %d: %v", c.size/mib, c.inUse/mib, got)
		}
	}
}

func TestDefragment(t *testing.T) {
	ctx := context.Background()
	e, err := StartEmbedded(ctx, EmbeddedConfig{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Client.Defragment(ctx, e.Client.Endpoints()[0]); err != nil {
		t.Fatalf("defragment over the unix socket: %v", err)
	}
}
