package storage

import (
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

func testCache() *Cache {
	return newCache(ResourceConfig{
		Prefix: "/registry/configmaps/",
		Attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			cm := obj.(*corev1.ConfigMap)
			return cm.Labels, fields.Set{"metadata.name": cm.Name}, nil
		},
	}, nil)
}

func configMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
}

// TestListPages: a list walks keys in order below its prefix, resumes after startAfter and
// reports whether more remain.
func TestListPages(t *testing.T) {
	c := testCache()
	for i := range 5 {
		c.apply(Added, fmt.Sprintf("/registry/configmaps/default/cm-%d", i), configMap(fmt.Sprintf("cm-%d", i)), uint64(i+1))
	}
	c.apply(Added, "/registry/configmaps/other/cm-x", configMap("cm-x"), 6)
	var names []string
	start := ""
	for {
		items, more, last := c.list("/registry/configmaps/default/", start, 2, Predicate{})
		for _, it := range items {
			names = append(names, it.(*corev1.ConfigMap).Name)
		}
		if !more {
			break
		}
		start = last
	}
	if fmt.Sprint(names) != "[cm-0 cm-1 cm-2 cm-3 cm-4]" {
		t.Fatalf("pages gave %v", names)
	}
}

// TestConcurrentLists: lists taken while other lists and writes run see consistent snapshots.
// Run with -race: btree's Clone writes the original tree, so lists must not clone it under a
// shared lock.
func TestConcurrentLists(t *testing.T) {
	c := testCache()
	const n = 200
	for i := range n {
		c.apply(Added, fmt.Sprintf("/registry/configmaps/default/cm-%03d", i), configMap(fmt.Sprintf("cm-%03d", i)), uint64(i+1))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if g == 0 {
					key := fmt.Sprintf("/registry/configmaps/default/cm-%03d", i%n)
					c.apply(Modified, key, configMap(fmt.Sprintf("cm-%03d", i%n)), uint64(n+i+1))
					continue
				}
				items, _, _ := c.list("/registry/configmaps/default/", "", 0, Predicate{})
				if len(items) != n {
					errs <- fmt.Errorf("list saw %d items, want %d", len(items), n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
