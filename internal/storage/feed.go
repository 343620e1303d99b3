package storage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// RegistryPrefix is the etcd prefix under which every API object is stored.
const RegistryPrefix = "/registry/"

// freshnessTimeout is how long a read waits for the caches to reach a revision before it
// falls back to etcd (consistent reads) or fails (a watch from a future revision).
const freshnessTimeout = 3 * time.Second

// Feed watches every key under /registry/ on one etcd watch stream and keeps the registered
// caches current. See the package documentation.
type Feed struct {
	client *clientv3.Client
	log    *slog.Logger

	// BookmarkInterval is how often idle watchers that allow bookmarks receive one.
	BookmarkInterval time.Duration

	// mu is held for writing while changes are applied, and for reading by anything that
	// needs the caches and the revision to agree (list snapshots, watch registration).
	mu      sync.RWMutex
	caches  map[string]*Cache
	rev     atomic.Uint64
	advance chan struct{} // closed and replaced whenever rev moves

	watchCtx context.Context
	started  bool

	// leases are shared by every store on this feed's client (Events' TTLs).
	leases *leases
}

// NewFeed returns a feed over client. Register caches, then Start it.
func NewFeed(client *clientv3.Client, log *slog.Logger) *Feed {
	return &Feed{
		client:           client,
		log:              log,
		BookmarkInterval: time.Minute,
		caches:           map[string]*Cache{},
		advance:          make(chan struct{}),
		leases:           &leases{client: client, byTTL: map[int64]leaseEntry{}},
	}
}

// Revision returns the etcd revision every cache reflects.
func (f *Feed) Revision() uint64 { return f.rev.Load() }

// Register adds a cache for a resource. Registering after Start loads the resource's current
// objects at the feed's revision, so the cache joins the stream without a gap.
func (f *Feed) Register(ctx context.Context, cfg ResourceConfig) (*Cache, error) {
	if !strings.HasPrefix(cfg.Prefix, RegistryPrefix) || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("resource %s: prefix %q must be below %s and end in /", cfg.Resource, cfg.Prefix, RegistryPrefix)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.caches[cfg.Prefix]; ok {
		return nil, fmt.Errorf("resource %s: prefix %q registered twice", cfg.Resource, cfg.Prefix)
	}
	c := newCache(cfg, f)
	if f.started {
		rev := f.rev.Load()
		resp, err := f.client.Get(ctx, cfg.Prefix, clientv3.WithPrefix(), clientv3.WithRev(int64(rev)))
		if err != nil {
			return nil, fmt.Errorf("load %s at revision %d: %w", cfg.Resource, rev, err)
		}
		var entries []*entry
		for _, kv := range resp.Kvs {
			if e := f.decodeEntry(c, string(kv.Key), kv.Value, uint64(kv.ModRevision)); e != nil {
				entries = append(entries, e)
			}
		}
		c.reset(entries, rev)
	}
	f.caches[cfg.Prefix] = c
	return c, nil
}

// Start loads every registered resource from etcd and follows changes until ctx ends.
func (f *Feed) Start(ctx context.Context) error {
	rev, err := f.load(ctx)
	if err != nil {
		return err
	}
	f.watchCtx = clientv3.WithRequireLeader(ctx)
	f.mu.Lock()
	f.started = true
	f.mu.Unlock()
	go f.follow(ctx, rev)
	return nil
}

// load lists all of /registry/ and resets every cache to it, returning the revision.
func (f *Feed) load(ctx context.Context) (uint64, error) {
	resp, err := f.client.Get(ctx, RegistryPrefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", RegistryPrefix, err)
	}
	rev := uint64(resp.Header.Revision)
	f.mu.Lock()
	defer f.mu.Unlock()
	byCache := map[*Cache][]*entry{}
	for _, kv := range resp.Kvs {
		c := f.cacheFor(string(kv.Key))
		if c == nil {
			continue
		}
		if e := f.decodeEntry(c, string(kv.Key), kv.Value, uint64(kv.ModRevision)); e != nil {
			byCache[c] = append(byCache[c], e)
		}
	}
	for _, c := range f.caches {
		c.reset(byCache[c], rev)
	}
	f.setRev(rev)
	return rev, nil
}

func (f *Feed) decodeEntry(c *Cache, key string, value []byte, rev uint64) *entry {
	obj, err := c.decode(value)
	if err != nil {
		f.log.Error("skipping undecodable object", "key", key, "err", err)
		return nil
	}
	setResourceVersion(obj, rev)
	e, err := c.newEntry(key, obj, rev)
	if err != nil {
		f.log.Error("skipping object", "key", key, "err", err)
		return nil
	}
	return e
}

// cacheFor finds the cache whose prefix is the longest one key starts with.
func (f *Feed) cacheFor(key string) *Cache {
	for i := len(key) - 1; i > len(RegistryPrefix); i-- {
		if key[i] == '/' {
			if c, ok := f.caches[key[:i+1]]; ok {
				return c
			}
		}
	}
	return nil
}

func (f *Feed) setRev(rev uint64) {
	if rev <= f.rev.Load() {
		return
	}
	f.rev.Store(rev)
	close(f.advance)
	f.advance = make(chan struct{})
}

func (f *Feed) advanced() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.advance
}

// follow applies etcd's changes after rev until ctx ends, reloading everything if etcd has
// compacted past the stream.
func (f *Feed) follow(ctx context.Context, rev uint64) {
	for ctx.Err() == nil {
		wch := f.client.Watch(f.watchCtx, RegistryPrefix,
			clientv3.WithPrefix(), clientv3.WithRev(int64(rev)+1), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
		for resp := range wch {
			if resp.CompactRevision != 0 {
				f.log.Warn("watch fell behind compaction; reloading every cache", "compacted", resp.CompactRevision)
				break
			}
			if err := resp.Err(); err != nil {
				f.log.Warn("etcd watch error; restarting", "err", err)
				break
			}
			if resp.IsProgressNotify() {
				f.mu.Lock()
				f.setRev(uint64(resp.Header.Revision))
				f.mu.Unlock()
				rev = f.rev.Load()
				continue
			}
			f.mu.Lock()
			for _, ev := range resp.Events {
				key := string(ev.Kv.Key)
				evRev := uint64(ev.Kv.ModRevision)
				if c := f.cacheFor(key); c != nil {
					if ev.Type == clientv3.EventTypeDelete {
						c.apply(Deleted, key, nil, evRev)
					} else if obj, err := c.decode(ev.Kv.Value); err == nil {
						setResourceVersion(obj, evRev)
						c.apply(Added, key, obj, evRev)
					} else {
						f.log.Error("skipping undecodable object", "key", key, "err", err)
					}
				}
				f.setRev(evRev)
			}
			f.mu.Unlock()
			rev = f.rev.Load()
		}
		if ctx.Err() != nil {
			return
		}
		// Either compaction or a broken stream: start over from a fresh list. Watchers are
		// terminated and resume (or relist on 410) from the client side.
		for ctx.Err() == nil {
			r, err := f.load(ctx)
			if err == nil {
				rev = r
				break
			}
			f.log.Warn("reload from etcd failed", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// currentEtcdRevision asks etcd for its latest revision (a linearizable read of one key).
func (f *Feed) currentEtcdRevision(ctx context.Context) (uint64, error) {
	resp, err := f.client.Get(ctx, RegistryPrefix+".revision", clientv3.WithCountOnly())
	if err != nil {
		return 0, apierrors.NewInternalError(fmt.Errorf("etcd: %w", err))
	}
	return uint64(resp.Header.Revision), nil
}

// WaitFor waits until the caches reflect revision rev. It asks etcd for a progress
// notification when the stream is idle. It returns false if rev is not reached within
// freshnessTimeout.
func (f *Feed) WaitFor(ctx context.Context, rev uint64) bool {
	if f.rev.Load() >= rev {
		return true
	}
	deadline := time.NewTimer(freshnessTimeout)
	defer deadline.Stop()
	poke := time.NewTicker(100 * time.Millisecond)
	defer poke.Stop()
	_ = f.client.RequestProgress(f.watchCtx)
	for {
		ch := f.advanced()
		if f.rev.Load() >= rev {
			return true
		}
		select {
		case <-ch:
		case <-poke.C:
			_ = f.client.RequestProgress(f.watchCtx)
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Fresh waits until the caches reflect everything etcd has committed so far, and returns that
// revision; ok is false if the caches could not catch up in time.
func (f *Feed) Fresh(ctx context.Context) (rev uint64, ok bool, err error) {
	rev, err = f.currentEtcdRevision(ctx)
	if err != nil {
		return 0, false, err
	}
	return rev, f.WaitFor(ctx, rev), nil
}
