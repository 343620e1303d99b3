package storage

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// Store reads and writes one resource: writes go to etcd, reads and watches come from the
// resource's Cache. Keys passed to a Store are relative to the resource prefix
// ("namespace/name" or "name").
type Store struct {
	cfg    ResourceConfig
	client *clientv3.Client
	feed   *Feed
	cache  *Cache
	leases *leases
	// written is the revision of this Store's newest committed write (see ListOwnWrites).
	written atomic.Uint64
}

// noteWrite records that a write of this Store committed at rev.
func (s *Store) noteWrite(rev int64) {
	for {
		cur := s.written.Load()
		if uint64(rev) <= cur || s.written.CompareAndSwap(cur, uint64(rev)) {
			return
		}
	}
}

// NewStore registers cfg with feed and returns its Store.
func NewStore(ctx context.Context, client *clientv3.Client, feed *Feed, cfg ResourceConfig) (*Store, error) {
	c, err := feed.Register(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, client: client, feed: feed, cache: c, leases: feed.leases}, nil
}

// Cache returns the store's watch cache.
func (s *Store) Cache() *Cache { return s.cache }

func (s *Store) fullKey(key string) string { return s.cfg.Prefix + key }

func (s *Store) notFound(key string) error {
	return apierrors.NewNotFound(s.cfg.Resource, key[strings.LastIndex(key, "/")+1:])
}

func (s *Store) etcdErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	if err == rpctypes.ErrCompacted || strings.Contains(err.Error(), "required revision has been compacted") {
		return apierrors.NewResourceExpired("The resourceVersion for the provided list is too old.")
	}
	if err == rpctypes.ErrFutureRev || strings.Contains(err.Error(), "required revision is a future revision") {
		return apierrors.NewTimeoutError("Too large resource version", 1)
	}
	if err == rpctypes.ErrRequestTooLarge || strings.Contains(err.Error(), "request is too large") {
		return apierrors.NewRequestEntityTooLargeError(err.Error())
	}
	return apierrors.NewInternalError(fmt.Errorf("etcd: %w", err))
}

// current is the stored state of a key: the object, its encoding before any transformation,
// its mod revision, and whether the stored bytes are stale (see Transformer).
type current struct {
	obj   runtime.Object
	data  []byte
	rev   int64
	stale bool
}

func (s *Store) decode(data []byte, rev int64) (runtime.Object, error) {
	c, err := s.decodeCurrent(data, rev)
	return c.obj, err
}

func (s *Store) decodeCurrent(data []byte, rev int64) (current, error) {
	plain, stale, err := unwrap(s.cfg.Transformer, data)
	if err != nil {
		return current{}, apierrors.NewInternalError(fmt.Errorf("decode %s: %w", s.cfg.Resource, err))
	}
	obj, err := s.cfg.Codec.Decode(plain)
	if err != nil {
		return current{}, apierrors.NewInternalError(fmt.Errorf("decode %s: %w", s.cfg.Resource, err))
	}
	setResourceVersion(obj, uint64(rev))
	return current{obj: obj, data: plain, rev: rev, stale: stale}, nil
}

func unwrap(t Transformer, data []byte) ([]byte, bool, error) {
	if t == nil {
		return data, false, nil
	}
	return t.TransformFromStorage(data)
}

// wrap transforms encoded bytes for storage.
func (s *Store) wrap(plain []byte) ([]byte, error) {
	if s.cfg.Transformer == nil {
		return plain, nil
	}
	data, err := s.cfg.Transformer.TransformToStorage(plain)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("transform %s for storage: %w", s.cfg.Resource, err))
	}
	return data, nil
}

// encode encodes obj with an empty resourceVersion (etcd's revision is the version).
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	a, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	rv := a.GetResourceVersion()
	a.SetResourceVersion("")
	data, err := s.cfg.Codec.Encode(obj)
	a.SetResourceVersion(rv)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("encode %s: %w", s.cfg.Resource, err))
	}
	return data, nil
}

// Get returns the object at key. resourceVersion "" reads etcd (the latest, quorum); any
// other value is served from the cache once it has reached that revision.
func (s *Store) Get(ctx context.Context, key, resourceVersion string) (runtime.Object, error) {
	if resourceVersion != "" {
		rv, err := ParseResourceVersion(resourceVersion)
		if err != nil {
			return nil, err
		}
		if s.feed.WaitFor(ctx, rv) {
			if obj, _, ok := s.cache.get(s.fullKey(key)); ok {
				return obj, nil
			}
			return nil, s.notFound(key)
		}
	}
	start := time.Now()
	resp, err := s.client.Get(ctx, s.fullKey(key))
	s.observe("get", start)
	if err != nil {
		return nil, s.etcdErr(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, s.notFound(key)
	}
	return s.decode(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

// Create stores obj at key if nothing is there, with a TTL if ttl > 0, and returns the stored
// object with its resourceVersion set.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object, ttl int64) (runtime.Object, error) {
	plain, err := s.encode(obj)
	if err != nil {
		return nil, err
	}
	data, err := s.wrap(plain)
	if err != nil {
		return nil, err
	}
	var opts []clientv3.OpOption
	if ttl > 0 {
		id, err := s.leases.get(ctx, ttl)
		if err != nil {
			return nil, s.etcdErr(err)
		}
		opts = append(opts, clientv3.WithLease(id))
	}
	k := s.fullKey(key)
	start := time.Now()
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, string(data), opts...)).
		Commit()
	s.observe("create", start)
	if err != nil {
		return nil, s.etcdErr(err)
	}
	if !resp.Succeeded {
		return nil, apierrors.NewAlreadyExists(s.cfg.Resource, key[strings.LastIndex(key, "/")+1:])
	}
	s.noteWrite(resp.Header.Revision)
	out := obj.DeepCopyObject()
	setResourceVersion(out, uint64(resp.Header.Revision))
	return out, nil
}

// UpdateFunc computes the new object from the current one. It must not change current.
// Returning an error aborts the update with that error.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// Update applies fn to the current object at key and stores the result with compare-and-swap,
// retrying fn on a concurrent change. If fn returns an object that encodes to the stored bytes,
// nothing is written and the current object is returned. ttl > 0 attaches a lease.
func (s *Store) Update(ctx context.Context, key string, fn UpdateFunc, ttl int64) (runtime.Object, error) {
	k := s.fullKey(key)
	var cur current
	fromCache := false
	if obj, rv, ok := s.cache.get(k); ok {
		cur, fromCache = current{obj: obj, rev: int64(rv)}, true
	} else if err := s.readCurrent(ctx, k, &cur); err != nil {
		return nil, err
	}
	for {
		if cur.obj == nil {
			return nil, s.notFound(key)
		}
		next, err := fn(cur.obj)
		if err != nil {
			// The cached copy may be stale; a precondition failure must be judged on etcd's.
			if fromCache {
				fromCache = false
				if err := s.readCurrent(ctx, k, &cur); err != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		plain, err := s.encode(next)
		if err != nil {
			return nil, err
		}
		if fromCache {
			// cur came from the cache; encode it to see whether the update changes anything.
			if cur.data, err = s.encode(cur.obj.DeepCopyObject()); err != nil {
				return nil, err
			}
		}
		if bytes.Equal(plain, cur.data) && !cur.stale {
			if fromCache {
				// Nothing to write as far as the cache knows; make sure etcd agrees.
				fromCache = false
				if err := s.readCurrent(ctx, k, &cur); err != nil {
					return nil, err
				}
				continue
			}
			return cur.obj, nil
		}
		data, err := s.wrap(plain)
		if err != nil {
			return nil, err
		}
		var opts []clientv3.OpOption
		if ttl > 0 {
			id, err := s.leases.get(ctx, ttl)
			if err != nil {
				return nil, s.etcdErr(err)
			}
			opts = append(opts, clientv3.WithLease(id))
		}
		start := time.Now()
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", cur.rev)).
			Then(clientv3.OpPut(k, string(data), opts...)).
			Else(clientv3.OpGet(k)).
			Commit()
		s.observe("update", start)
		if err != nil {
			return nil, s.etcdErr(err)
		}
		if resp.Succeeded {
			s.noteWrite(resp.Header.Revision)
			out := next.DeepCopyObject()
			setResourceVersion(out, uint64(resp.Header.Revision))
			return out, nil
		}
		fromCache = false
		if err := s.fromGet(resp.Responses[0].GetResponseRange().Kvs, &cur); err != nil {
			return nil, err
		}
	}
}

func (s *Store) readCurrent(ctx context.Context, k string, cur *current) error {
	start := time.Now()
	resp, err := s.client.Get(ctx, k)
	s.observe("get", start)
	if err != nil {
		return s.etcdErr(err)
	}
	return s.fromGet(resp.Kvs, cur)
}

func (s *Store) fromGet(kvs []*mvccpb.KeyValue, cur *current) error {
	if len(kvs) == 0 {
		*cur = current{}
		return nil
	}
	c, err := s.decodeCurrent(kvs[0].Value, kvs[0].ModRevision)
	if err != nil {
		return err
	}
	*cur = c
	return nil
}

// Delete removes the object at key if check (when set) accepts the current object, retrying
// on a concurrent change. It returns the object as it was, with the deletion's revision.
func (s *Store) Delete(ctx context.Context, key string, check func(current runtime.Object) error) (runtime.Object, error) {
	k := s.fullKey(key)
	var cur current
	if err := s.readCurrent(ctx, k, &cur); err != nil {
		return nil, err
	}
	for {
		if cur.obj == nil {
			return nil, s.notFound(key)
		}
		if check != nil {
			if err := check(cur.obj); err != nil {
				return nil, err
			}
		}
		start := time.Now()
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", cur.rev)).
			Then(clientv3.OpDelete(k)).
			Else(clientv3.OpGet(k)).
			Commit()
		s.observe("delete", start)
		if err != nil {
			return nil, s.etcdErr(err)
		}
		if resp.Succeeded {
			s.noteWrite(resp.Header.Revision)
			out := cur.obj.DeepCopyObject()
			setResourceVersion(out, uint64(resp.Header.Revision))
			return out, nil
		}
		if err := s.fromGet(resp.Responses[0].GetResponseRange().Kvs, &cur); err != nil {
			return nil, err
		}
	}
}

// List returns a page of matching objects; see the package documentation for how
// resourceVersion, resourceVersionMatch, limit and continue choose between cache and etcd.
func (s *Store) List(ctx context.Context, opts ListOptions) (*ListResult, error) {
	prefix := s.fullKey(opts.Prefix)
	if opts.Continue != "" {
		rev, start, err := decodeContinue(opts.Continue)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return nil, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
		}
		return s.listEtcd(ctx, prefix, s.cfg.Prefix+start, rev, opts)
	}
	rv, err := ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Match == MatchExact:
		if rv == 0 {
			return nil, apierrors.NewBadRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"")
		}
		return s.listEtcd(ctx, prefix, "", rv, opts)
	case opts.ResourceVersion == "":
		rev, ok, err := s.feed.Fresh(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			s.feed.log.Warn("watch cache behind etcd; consistent list read from etcd", "resource", s.cfg.Resource, "want", rev, "have", s.feed.Revision())
			return s.listEtcd(ctx, prefix, "", rev, opts)
		}
	case rv > 0:
		if !s.feed.WaitFor(ctx, rv) {
			return nil, apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", rv, s.feed.Revision()), 1)
		}
	}
	return s.listCache(prefix, opts), nil
}

// ListOwnWrites lists from the cache once it reflects every write this process has committed
// to this resource (read-your-writes without asking etcd; once the cache has seen the
// resource's last write it does not wait, however busy other resources are). Admission uses it where upstream's plugins fall back
// to a live lookup when their informer shows nothing: a LimitRange or ResourceQuota created
// just before a pod must apply to it.
func (s *Store) ListOwnWrites(ctx context.Context, prefix string) (*ListResult, error) {
	return s.List(ctx, ListOptions{Prefix: prefix, ResourceVersion: strconv.FormatUint(s.written.Load(), 10), Match: MatchNotOlderThan})
}

func (s *Store) listCache(prefix string, opts ListOptions) *ListResult {
	s.feed.mu.RLock()
	rev := s.feed.Revision()
	items, more, last := s.cache.list(prefix, "", opts.Limit, opts.Predicate)
	s.feed.mu.RUnlock()
	res := &ListResult{Items: items, ResourceVersion: rev}
	if more {
		res.Continue = encodeContinue(rev, strings.TrimPrefix(last, s.cfg.Prefix)+"\x00")
	}
	return res
}

// listEtcd reads matching objects from etcd at revision rev (0: latest), from key from (or
// the prefix) on, filling up to opts.Limit matches.
func (s *Store) listEtcd(ctx context.Context, prefix, from string, rev uint64, opts ListOptions) (*ListResult, error) {
	if from < prefix {
		// A continue token never reaches outside the listed prefix.
		from = prefix
	}
	end := clientv3.GetPrefixRangeEnd(prefix)
	res := &ListResult{}
	var lastKey []byte
	batch := opts.Limit
	if batch <= 0 || batch > 1000 {
		batch = 1000
	}
	for {
		getOpts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(batch)}
		if rev > 0 {
			getOpts = append(getOpts, clientv3.WithRev(int64(rev)))
		}
		start := time.Now()
		resp, err := s.client.Get(ctx, from, getOpts...)
		s.observe("list", start)
		if err != nil {
			if opts.Continue != "" && strings.Contains(err.Error(), "compacted") {
				return nil, apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
			}
			return nil, s.etcdErr(err)
		}
		if rev == 0 {
			rev = uint64(resp.Header.Revision)
		}
		res.ResourceVersion = rev
		for _, kv := range resp.Kvs {
			obj, err := s.decode(kv.Value, kv.ModRevision)
			if err != nil {
				return nil, err
			}
			l, f, err := s.cfg.Attrs(obj)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			if !opts.Predicate.matches(l, f) {
				continue
			}
			if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
				res.Continue = encodeContinue(rev, strings.TrimPrefix(string(lastKey), s.cfg.Prefix)+"\x00")
				return res, nil
			}
			res.Items = append(res.Items, obj)
			lastKey = kv.Key
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return res, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Watch starts a watch; see the package documentation for the resourceVersion semantics.
func (s *Store) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	rv, err := ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	initial := opts.ResourceVersion == "" || opts.ResourceVersion == "0"
	if opts.SendInitialEvents != nil {
		initial = *opts.SendInitialEvents
	}
	initialEnd := opts.SendInitialEvents != nil && *opts.SendInitialEvents && opts.AllowBookmarks
	switch {
	case opts.ResourceVersion == "" && initial:
		if _, ok, err := s.feed.Fresh(ctx); err != nil {
			return nil, err
		} else if !ok {
			return nil, apierrors.NewTimeoutError("Too large resource version: the watch cache is not yet up to date", 1)
		}
	case rv > 0:
		if !s.feed.WaitFor(ctx, rv) {
			return nil, apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", rv, s.feed.Revision()), 1)
		}
	}
	w := newWatcher(s.cache, s.fullKey(opts.Prefix), opts.Predicate, opts.AllowBookmarks)
	s.feed.mu.RLock()
	start := s.feed.Revision()
	snapshot, err := s.cache.watchFrom(w, rv, initial)
	s.feed.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if !initial {
		start = rv
	}
	go w.run(ctx, snapshot, initialEnd, start, s.feed.BookmarkInterval)
	return &Watcher{result: w.result, stop: func() { w.terminate(nil) }}, nil
}

// leases hands out etcd leases for objects with a TTL, reusing one lease for writes that come
// within a minute of each other, as upstream does, so that Events don't cost a lease each.
type leases struct {
	client *clientv3.Client
	mu     sync.Mutex
	byTTL  map[int64]leaseEntry
}

type leaseEntry struct {
	id      clientv3.LeaseID
	expires time.Time
}

const leaseReuse = time.Minute

func (l *leases) get(ctx context.Context, ttl int64) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if e, ok := l.byTTL[ttl]; ok && now.Before(e.expires) {
		return e.id, nil
	}
	resp, err := l.client.Grant(ctx, ttl+int64(leaseReuse/time.Second))
	if err != nil {
		return 0, err
	}
	l.byTTL[ttl] = leaseEntry{id: resp.ID, expires: now.Add(leaseReuse)}
	return resp.ID, nil
}
