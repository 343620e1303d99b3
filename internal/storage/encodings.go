package storage

import (
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
)

// encodings caches an object's encodings by content type, so that an event delivered to many
// watchers is encoded once per content type.
type encodings struct {
	mu sync.Mutex
	m  map[string]encoded
}

type encoded struct {
	data []byte
	err  error
}

func (c *encodings) get(key string, obj runtime.Object, enc func(runtime.Object) ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		return e.data, e.err
	}
	data, err := enc(obj)
	if c.m == nil {
		c.m = make(map[string]encoded, 2)
	}
	c.m[key] = encoded{data, err}
	return data, err
}
