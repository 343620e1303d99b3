package registry

import (
	"context"
	"sync"
)

// Notes collects what a request's handlers want said alongside the response: warnings for the
// client (HTTP Warning headers) and annotations for the request's audit event. Admission plugins
// add to them through Warn and AnnotateAudit; the API server creates one per request.
type Notes struct {
	mu          sync.Mutex
	warn        func(string)
	annotations map[string]string
}

type notesKey struct{}

// WithNotes returns a context that carries fresh notes; warn is called once per warning, while
// the request is still being handled (before its response is written).
func WithNotes(ctx context.Context, warn func(string)) (context.Context, *Notes) {
	n := &Notes{warn: warn}
	return context.WithValue(ctx, notesKey{}, n), n
}

// Warn sends msg to the client as a warning, if ctx carries notes.
func Warn(ctx context.Context, msg string) {
	if n, ok := ctx.Value(notesKey{}).(*Notes); ok && n.warn != nil {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.warn(msg)
	}
}

// AnnotateAudit records key=value on the request's audit event, if ctx carries notes.
func AnnotateAudit(ctx context.Context, key, value string) {
	if n, ok := ctx.Value(notesKey{}).(*Notes); ok {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.annotations == nil {
			n.annotations = map[string]string{}
		}
		n.annotations[key] = value
	}
}

// Annotations returns a copy of the audit annotations recorded so far.
func (n *Notes) Annotations() map[string]string {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.annotations) == 0 {
		return nil
	}
	out := make(map[string]string, len(n.annotations))
	for k, v := range n.annotations {
		out[k] = v
	}
	return out
}
