package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// objectKind is a kind of object the node's pods refer to.
type objectKind uint8

const (
	kindConfigMap objectKind = iota
	kindSecret
)

// objectKey names one ConfigMap or Secret.
type objectKey struct {
	kind            objectKind
	namespace, name string
}

func (k objectKey) String() string {
	return [...]string{"configmap", "secret"}[k.kind] + " " + k.namespace + "/" + k.name
}

// objectSyncTimeout bounds how long a read waits for a new watch's first list, as upstream's
// watch-based manager does.
const objectSyncTimeout = 2 * time.Second

// objectCache keeps the ConfigMaps and Secrets the node's pods refer to, each watched on its
// own (list and watch narrowed to its name, which is all the node authorizer lets a node
// read), for as long as some pod refers to it: upstream's watch-based configmap and secret
// managers. changed is told which pods use an object that was added, changed or deleted.
type objectCache struct {
	client  kubernetes.Interface
	log     *slog.Logger
	changed func(pods []types.UID)

	mu      sync.Mutex
	items   map[objectKey]*objectItem
	pods    map[types.UID]map[objectKey]bool
	stopped bool
}

type objectItem struct {
	store  cache.Store
	ctrl   cache.Controller
	cancel context.CancelFunc
	done   chan struct{}
	users  map[types.UID]bool
}

func newObjectCache(client kubernetes.Interface, log *slog.Logger, changed func([]types.UID)) *objectCache {
	return &objectCache{client: client, log: log, changed: changed,
		items: map[objectKey]*objectItem{}, pods: map[types.UID]map[objectKey]bool{}}
}

// podObjects lists the ConfigMaps and Secrets pod refers to: in volumes (projected ones too),
// env and envFrom of every container, and its image pull secrets.
func podObjects(pod *corev1.Pod) map[objectKey]bool {
	out := map[objectKey]bool{}
	cm := func(name string) { out[objectKey{kindConfigMap, pod.Namespace, name}] = true }
	sec := func(name string) { out[objectKey{kindSecret, pod.Namespace, name}] = true }
	for _, s := range pod.Spec.ImagePullSecrets {
		sec(s.Name)
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			cm(v.ConfigMap.Name)
		case v.Secret != nil:
			sec(v.Secret.SecretName)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					cm(src.ConfigMap.Name)
				}
				if src.Secret != nil {
					sec(src.Secret.Name)
				}
			}
		}
	}
	visit := func(c *corev1.Container) {
		for _, f := range c.EnvFrom {
			if f.ConfigMapRef != nil {
				cm(f.ConfigMapRef.Name)
			}
			if f.SecretRef != nil {
				sec(f.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				cm(r.Name)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				sec(r.Name)
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		visit(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		visit(&pod.Spec.Containers[i])
	}
	delete(out, objectKey{kindConfigMap, pod.Namespace, ""})
	delete(out, objectKey{kindSecret, pod.Namespace, ""})
	return out
}

// register makes the cache watch what pod refers to (and stop watching what it no longer
// does, when no other pod does).
func (c *objectCache) register(pod *corev1.Pod) {
	want := podObjects(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	have := c.pods[pod.UID]
	for k := range have {
		if !want[k] {
			c.release(pod.UID, k)
		}
	}
	for k := range want {
		if have[k] {
			continue
		}
		it := c.items[k]
		if it == nil {
			it = c.watch(k)
			c.items[k] = it
		}
		it.users[pod.UID] = true
	}
	c.pods[pod.UID] = want
}

// unregister drops pod's references.
func (c *objectCache) unregister(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.pods[uid] {
		c.release(uid, k)
	}
	delete(c.pods, uid)
}

// release drops uid's use of k, stopping its watch when it was the last; c.mu is held.
func (c *objectCache) release(uid types.UID, k objectKey) {
	it := c.items[k]
	if it == nil {
		return
	}
	delete(it.users, uid)
	if len(it.users) == 0 {
		it.cancel()
		delete(c.items, k)
	}
}

// stop ends every watch and waits for them.
func (c *objectCache) stop() {
	c.mu.Lock()
	items := c.items
	c.items = map[objectKey]*objectItem{}
	c.pods = map[types.UID]map[objectKey]bool{}
	c.stopped = true
	c.mu.Unlock()
	for _, it := range items {
		it.cancel()
		<-it.done
	}
}

// watch starts the informer of one object; c.mu is held.
func (c *objectCache) watch(k objectKey) *objectItem {
	ctx, cancel := context.WithCancel(context.Background())
	selector := fields.OneTermEqualSelector("metadata.name", k.name).String()
	var lw *cache.ListWatch
	var obj runtime.Object
	switch k.kind {
	case kindConfigMap:
		obj = &corev1.ConfigMap{}
		api := c.client.CoreV1().ConfigMaps(k.namespace)
		lw = &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = selector
				return api.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = selector
				return api.Watch(ctx, o)
			},
		}
	default:
		obj = &corev1.Secret{}
		api := c.client.CoreV1().Secrets(k.namespace)
		lw = &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = selector
				return api.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = selector
				return api.Watch(ctx, o)
			},
		}
	}
	notify := func(any) { c.notify(k) }
	store, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		// The client says whether it serves watch lists (a fake one does not).
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, c.client),
		ObjectType:    obj,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    notify,
			UpdateFunc: func(_, o any) { notify(o) },
			DeleteFunc: notify,
		},
	})
	it := &objectItem{store: store, ctrl: ctrl, cancel: cancel, done: make(chan struct{}), users: map[types.UID]bool{}}
	go func() {
		defer close(it.done)
		ctrl.RunWithContext(ctx)
	}()
	return it
}

// notify tells the users of k that it changed.
func (c *objectCache) notify(k objectKey) {
	c.mu.Lock()
	it := c.items[k]
	var uids []types.UID
	if it != nil {
		for uid := range it.users {
			uids = append(uids, uid)
		}
	}
	c.mu.Unlock()
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	if len(uids) > 0 && c.changed != nil {
		c.changed(uids)
	}
}

// get returns the object k from its watch, waiting for the watch's first list. An object the
// API does not have is a NotFound error naming it as upstream's kubelet does
// (`configmap "x" not found`). A key no pod registered is an error.
func (c *objectCache) get(ctx context.Context, k objectKey) (any, error) {
	c.mu.Lock()
	it := c.items[k]
	c.mu.Unlock()
	if it == nil {
		return nil, fmt.Errorf("%s is not registered", k)
	}
	resource := [...]string{"configmap", "secret"}[k.kind]
	if !it.ctrl.HasSynced() {
		ctx, cancel := context.WithTimeout(ctx, objectSyncTimeout)
		defer cancel()
		if !cache.WaitForCacheSync(ctx.Done(), it.ctrl.HasSynced) {
			return nil, fmt.Errorf("failed to sync %s cache: timed out waiting for the condition", resource)
		}
	}
	obj, ok, err := it.store.GetByKey(k.namespace + "/" + k.name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: resource}, k.name)
	}
	return obj, nil
}

func (c *objectCache) configMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	obj, err := c.get(ctx, objectKey{kindConfigMap, namespace, name})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ConfigMap), nil
}

func (c *objectCache) secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	obj, err := c.get(ctx, objectKey{kindSecret, namespace, name})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Secret), nil
}
