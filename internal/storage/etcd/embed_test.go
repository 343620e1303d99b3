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
