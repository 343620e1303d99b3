package storage

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/google/btree"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// entry is one object in a cache.
type entry struct {
	key    string
	obj    runtime.Object
	rv     uint64
	labels labels.Set
	fields fields.Set
}

func lessEntry(a, b *entry) bool { return a.key < b.key }

// Cache holds the current objects of one resource and its recent events, fed by the Feed.
type Cache struct {
	cfg  ResourceConfig
	feed *Feed

	mu    sync.RWMutex
	tree  *btree.BTreeG[*entry]
	index map[string]map[string]*entry // IndexField value -> key -> entry

	// history is a ring of the most recent events; it covers every change with a revision
	// above oldest.
	history []*Event
	hStart  int
	hLen    int
	oldest  uint64

	watchers        map[*watcher]struct{}
	indexedWatchers map[string]map[*watcher]struct{}
}

func newCache(cfg ResourceConfig, feed *Feed) *Cache {
	if cfg.HistorySize <= 0 {
		cfg.HistorySize = DefaultHistorySize
	}
	return &Cache{
		cfg:             cfg,
		feed:            feed,
		tree:            btree.NewG[*entry](32, lessEntry),
		index:           map[string]map[string]*entry{},
		history:         make([]*Event, cfg.HistorySize),
		watchers:        map[*watcher]struct{}{},
		indexedWatchers: map[string]map[*watcher]struct{}{},
	}
}

// decode turns stored bytes into an object.
func (c *Cache) decode(data []byte) (runtime.Object, error) {
	plain, _, err := unwrap(c.cfg.Transformer, data)
	if err != nil {
		return nil, err
	}
	return c.cfg.Codec.Decode(plain)
}

func (c *Cache) newEntry(key string, obj runtime.Object, rv uint64) (*entry, error) {
	l, f, err := c.cfg.Attrs(obj)
	if err != nil {
		return nil, err
	}
	return &entry{key: key, obj: obj, rv: rv, labels: l, fields: f}, nil
}

func (c *Cache) indexKey(f fields.Set) (string, bool) {
	if c.cfg.IndexField == "" {
		return "", false
	}
	v, ok := f[c.cfg.IndexField]
	return v, ok
}

func (c *Cache) addToIndex(e *entry) {
	if v, ok := c.indexKey(e.fields); ok {
		m := c.index[v]
		if m == nil {
			m = map[string]*entry{}
			c.index[v] = m
		}
		m[e.key] = e
	}
}

func (c *Cache) removeFromIndex(e *entry) {
	if v, ok := c.indexKey(e.fields); ok {
		if m := c.index[v]; m != nil {
			delete(m, e.key)
			if len(m) == 0 {
				delete(c.index, v)
			}
		}
	}
}

// reset replaces the cache's contents with entries, as of revision rev, and terminates every
// watcher (they cannot be told what they missed).
func (c *Cache) reset(entries []*entry, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tree.Clear(false)
	c.index = map[string]map[string]*entry{}
	for _, e := range entries {
		c.tree.ReplaceOrInsert(e)
		c.addToIndex(e)
	}
	for i := range c.history {
		c.history[i] = nil
	}
	c.hStart, c.hLen, c.oldest = 0, 0, rev
	for w := range c.watchers {
		w.terminate(nil)
	}
	for _, ws := range c.indexedWatchers {
		for w := range ws {
			w.terminate(nil)
		}
	}
	c.watchers = map[*watcher]struct{}{}
	c.indexedWatchers = map[string]map[*watcher]struct{}{}
}

// apply records one change from etcd and dispatches it to watchers. obj is nil for a delete.
func (c *Cache) apply(typ EventType, key string, obj runtime.Object, rv uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ev := &Event{Type: typ, Key: key, RV: rv}
	old, hadOld := c.tree.Get(&entry{key: key})
	if hadOld {
		ev.PrevObject, ev.prevLabels, ev.prevFields = old.obj, old.labels, old.fields
		c.removeFromIndex(old)
	}
	switch typ {
	case Deleted:
		if !hadOld {
			return
		}
		c.tree.Delete(old)
		ev.Object, ev.labels, ev.fields = old.obj.DeepCopyObject(), old.labels, old.fields
		setResourceVersion(ev.Object, rv)
	default:
		e, err := c.newEntry(key, obj, rv)
		if err != nil {
			return
		}
		if hadOld {
			ev.Type = Modified
		} else {
			ev.Type = Added
		}
		c.tree.ReplaceOrInsert(e)
		c.addToIndex(e)
		ev.Object, ev.labels, ev.fields = obj, e.labels, e.fields
	}
	c.record(ev)
	c.dispatch(ev)
}

func (c *Cache) record(ev *Event) {
	n := len(c.history)
	if c.hLen == n {
		evicted := c.history[c.hStart]
		c.oldest = evicted.RV
		c.history[c.hStart] = ev
		c.hStart = (c.hStart + 1) % n
		return
	}
	c.history[(c.hStart+c.hLen)%n] = ev
	c.hLen++
}

func (c *Cache) dispatch(ev *Event) {
	for w := range c.watchers {
		w.offer(ev)
	}
	if c.cfg.IndexField == "" {
		return
	}
	newV, newOK := ev.fields[c.cfg.IndexField]
	if newOK {
		for w := range c.indexedWatchers[newV] {
			w.offer(ev)
		}
	}
	if oldV, ok := ev.prevFields[c.cfg.IndexField]; ok && ev.PrevObject != nil && (!newOK || oldV != newV) {
		for w := range c.indexedWatchers[oldV] {
			w.offer(ev)
		}
	}
}

// get returns the cached object at key.
func (c *Cache) get(key string) (runtime.Object, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.tree.Get(&entry{key: key})
	if !ok {
		return nil, 0, false
	}
	return e.obj, e.rv, true
}

// list returns the matching objects below prefix, starting after startAfter (a full key, or ""),
// at most limit of them (0 is no limit), and the key of the last one when more remain.
func (c *Cache) list(prefix, startAfter string, limit int64, p Predicate) (items []runtime.Object, more bool, last string) {
	if v, ok := p.indexValue(c.cfg.IndexField); ok {
		return c.listIndexed(v, prefix, startAfter, limit, p)
	}
	// btree's Clone writes the original's copy-on-write context, so two Clones must not run
	// at once: take the write lock (Clone itself is O(1)).
	c.mu.Lock()
	snap := c.tree.Clone()
	c.mu.Unlock()
	from := prefix
	if startAfter != "" {
		from = startAfter + "\x00"
	}
	snap.AscendGreaterOrEqual(&entry{key: from}, func(e *entry) bool {
		if !strings.HasPrefix(e.key, prefix) {
			return false
		}
		if !p.matches(e.labels, e.fields) {
			return true
		}
		if limit > 0 && int64(len(items)) == limit {
			more = true
			return false
		}
		items = append(items, e.obj)
		last = e.key
		return true
	})
	return items, more, last
}

func (c *Cache) listIndexed(v, prefix, startAfter string, limit int64, p Predicate) (items []runtime.Object, more bool, last string) {
	c.mu.RLock()
	var es []*entry
	for _, e := range c.index[v] {
		if strings.HasPrefix(e.key, prefix) && e.key > startAfter && p.matches(e.labels, e.fields) {
			es = append(es, e)
		}
	}
	c.mu.RUnlock()
	sortEntries(es)
	for _, e := range es {
		if limit > 0 && int64(len(items)) == limit {
			return items, true, last
		}
		items = append(items, e.obj)
		last = e.key
	}
	return items, false, last
}

// snapshot returns the matching entries below prefix, and registers w (if not nil) to receive
// every change after the cache's current revision, atomically.
func (c *Cache) watchFrom(w *watcher, rv uint64, initial bool) (snapshot []*Event, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if initial {
		c.tree.AscendGreaterOrEqual(&entry{key: w.prefix}, func(e *entry) bool {
			if !strings.HasPrefix(e.key, w.prefix) {
				return false
			}
			if w.pred.matches(e.labels, e.fields) {
				snapshot = append(snapshot, &Event{Type: Added, Key: e.key, Object: e.obj, RV: e.rv, labels: e.labels, fields: e.fields})
			}
			return true
		})
	} else {
		if rv < c.oldest {
			return nil, apierrors.NewResourceExpired("too old resource version: " + u64(rv) + " (" + u64(c.oldest) + ")")
		}
		n := len(c.history)
		for i := 0; i < c.hLen; i++ {
			ev := c.history[(c.hStart+i)%n]
			if ev.RV > rv && strings.HasPrefix(ev.Key, w.prefix) {
				snapshot = append(snapshot, ev)
			}
		}
	}
	if v, ok := w.pred.indexValue(c.cfg.IndexField); ok {
		m := c.indexedWatchers[v]
		if m == nil {
			m = map[*watcher]struct{}{}
			c.indexedWatchers[v] = m
		}
		m[w] = struct{}{}
		w.indexValue, w.indexed = v, true
	} else {
		c.watchers[w] = struct{}{}
	}
	return snapshot, nil
}

func (c *Cache) removeWatcher(w *watcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w.indexed {
		if m := c.indexedWatchers[w.indexValue]; m != nil {
			delete(m, w)
			if len(m) == 0 {
				delete(c.indexedWatchers, w.indexValue)
			}
		}
		return
	}
	delete(c.watchers, w)
}

// Len returns the number of objects in the cache.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tree.Len()
}

// WatcherCount returns the number of open watches on the cache.
func (c *Cache) WatcherCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := len(c.watchers)
	for _, m := range c.indexedWatchers {
		n += len(m)
	}
	return n
}

func sortEntries(es []*entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].key < es[j].key })
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }
