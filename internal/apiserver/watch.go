package apiserver

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// minWatchTimeout is upstream's --min-request-timeout: a watch without timeoutSeconds lasts
// between one and two times this.
const minWatchTimeout = 30 * time.Minute

// watch streams events as newline-delimited JSON frames, flushed one by one.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, req *request) {
	o, err := s.parseListOptions(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	timeout := time.Duration(o.timeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = minWatchTimeout + time.Duration(rand.Int63n(int64(minWatchTimeout)))
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	s.wg.Add(1)
	defer s.wg.Done()

	watcher, err := req.store.Watch(ctx, req.namespace(), storage.WatchOptions{
		ResourceVersion:   o.ResourceVersion,
		Predicate:         o.Predicate,
		SendInitialEvents: o.sendInitialEvents,
		AllowBookmarks:    o.allowBookmarks,
	})
	if err != nil {
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			// Upstream reports a too-old resourceVersion inside the stream, as an ERROR event.
			s.startWatchResponse(w, req)
			st := errorStatus(err)
			st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
			_ = s.writeWatchFrame(w, req, storage.WatchEvent{Type: storage.Error, Object: st}, true)
			return
		}
		s.writeError(w, r, err)
		return
	}
	defer watcher.Stop()
	s.metrics.watchers.WithLabelValues(req.res.GroupResource().String()).Inc()
	defer s.metrics.watchers.WithLabelValues(req.res.GroupResource().String()).Dec()

	s.startWatchResponse(w, req)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	first := true
	for {
		select {
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return
			}
			if ev.Type == storage.Bookmark && !o.allowBookmarks {
				continue
			}
			if err := s.writeWatchFrame(w, req, ev, first); err != nil {
				return
			}
			if ev.Type != storage.Bookmark && ev.Type != storage.Error {
				first = false
			}
			s.metrics.watchEvents.WithLabelValues(req.res.GroupResource().String()).Inc()
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// watchProtobuf reports whether a watch is streamed as length-prefixed protobuf frames, which
// clients get when protobuf is the type they prefer (client-go's typed clients and informers).
func watchProtobuf(req *request) bool {
	return req.out.MediaType == mediaProtobuf && req.out.As == ""
}

func (s *Server) startWatchResponse(w http.ResponseWriter, req *request) {
	if watchProtobuf(req) {
		w.Header().Set("Content-Type", mediaProtobuf+";stream=watch")
	} else {
		w.Header().Set("Content-Type", mediaJSON)
	}
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// writeWatchFrame writes one {"type":...,"object":...} frame and flushes it. Objects are
// encoded once per content type and shared between watchers; Tables are per watcher.
func (s *Server) writeWatchFrame(w http.ResponseWriter, req *request, ev storage.WatchEvent, first bool) error {
	if watchProtobuf(req) {
		return s.writeProtobufFrame(w, req, ev)
	}
	var obj []byte
	var err error
	switch {
	case ev.Type == storage.Error:
		obj, err = s.codecs.encode(mediaJSON, ev.Object)
	case req.out.As == "Table" && ev.Type != storage.Bookmark:
		var t *metav1.Table
		t, err = s.table(req, []runtime.Object{ev.Object}, "", !first)
		if err == nil {
			obj, err = s.codecs.encode(mediaJSON, t)
		}
	case req.out.As == "PartialObjectMetadata" || req.out.As == "PartialObjectMetadataList":
		obj, err = s.codecs.encode(mediaJSON, registry.PartialMetadata(ev.Object, req.out.AsVersion))
	case ev.Type == storage.Bookmark:
		ev.Object.GetObjectKind().SetGroupVersionKind(req.res.GVK)
		obj, err = s.codecs.encode(mediaJSON, ev.Object)
	default:
		obj, err = ev.Encoded(mediaJSON, func(o runtime.Object) ([]byte, error) { return s.codecs.encode(mediaJSON, o) })
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Grow(len(obj) + 32)
	buf.WriteString(`{"type":`)
	buf.WriteString(strconv.Quote(string(ev.Type)))
	buf.WriteString(`,"object":`)
	buf.Write(bytes.TrimRight(obj, "\n"))
	buf.WriteString("}\n")
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// writeProtobufFrame writes one watch event as upstream's protobuf stream does: a 4-byte
// big-endian length, then a metav1.WatchEvent (without the k8s envelope) whose object is the
// enveloped protobuf encoding of the object, shared between watchers.
func (s *Server) writeProtobufFrame(w http.ResponseWriter, req *request, ev storage.WatchEvent) error {
	var obj []byte
	var err error
	switch ev.Type {
	case storage.Error:
		obj, err = s.codecs.encode(mediaProtobuf, ev.Object)
	case storage.Bookmark:
		ev.Object.GetObjectKind().SetGroupVersionKind(req.res.GVK)
		obj, err = s.codecs.encode(mediaProtobuf, ev.Object)
	default:
		obj, err = ev.Encoded(mediaProtobuf, func(o runtime.Object) ([]byte, error) { return s.codecs.encode(mediaProtobuf, o) })
	}
	if err != nil {
		return err
	}
	var frame bytes.Buffer
	frame.Write([]byte{0, 0, 0, 0})
	if err := s.codecs.rawProtobuf.Encode(&metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: obj}}, &frame); err != nil {
		return err
	}
	b := frame.Bytes()
	binary.BigEndian.PutUint32(b[:4], uint32(len(b)-4))
	if _, err := w.Write(b); err != nil {
		return err
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}
