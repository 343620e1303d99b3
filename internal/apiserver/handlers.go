package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// request carries what every resource handler needs.
type request struct {
	ri    *RequestInfo
	res   *registry.Resource
	store *registry.Store
	out   Output
}

func notFoundPath() error {
	return apierrors.NewGenericServerResponse(http.StatusNotFound, "", schema.GroupResource{}, "", "the server could not find the requested resource", 0, false)
}

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, ri *RequestInfo) {
	res, store, ok := s.reg.Lookup(ri.GroupVersionResource())
	if !ok || store == nil {
		s.writeError(w, r, notFoundPath())
		return
	}
	// Namespaced resources live under namespaces/{ns} (or are listed across all of them);
	// cluster-scoped ones never do.
	if res.Plural != "namespaces" {
		if !res.Namespaced && ri.Namespace != "" {
			s.writeError(w, r, notFoundPath())
			return
		}
		if res.Namespaced && ri.Namespace == "" && ri.Verb != "list" && ri.Verb != "watch" {
			s.writeError(w, r, notFoundPath())
			return
		}
	}
	// Only proxy subresources have a path of their own (nodes/{name}/proxy/{path...}).
	if len(ri.Parts) > 3 && ri.Subresource != "proxy" {
		s.writeError(w, r, notFoundPath())
		return
	}
	out, ok := negotiateOutput(r.Header.Get("Accept"), ri.Subresource == "" && (ri.Verb == "get" || ri.Verb == "list" || ri.Verb == "watch"))
	if !ok && connectSubresource(ri.Subresource) {
		// The kubelet answers these in its own media types (text/plain logs, upgrades,
		// whatever a proxied path serves); errors are JSON.
		out, ok = Output{MediaType: mediaJSON}, true
	}
	if !ok {
		s.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
			"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false))
		return
	}
	req := &request{ri: ri, res: res, store: store, out: out}
	if ri.Subresource != "" {
		s.serveSubresource(w, r, req)
		return
	}
	if !res.HasVerb(ri.Verb) {
		s.writeError(w, r, apierrors.NewMethodNotSupported(res.GroupResource(), ri.Verb))
		return
	}
	switch ri.Verb {
	case "get":
		s.get(w, r, req)
	case "list":
		s.list(w, r, req)
	case "watch":
		s.watch(w, r, req)
	case "create":
		s.create(w, r, req)
	case "update":
		s.update(w, r, req, "")
	case "patch":
		s.patch(w, r, req, "")
	case "delete":
		s.delete(w, r, req)
	case "deletecollection":
		s.deleteCollection(w, r, req)
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(res.GroupResource(), ri.Verb))
	}
}

// connectSubresource reports whether sub is answered by a kubelet or a proxied backend.
func connectSubresource(sub string) bool {
	switch sub {
	case "log", "exec", "attach", "portforward", "proxy":
		return true
	}
	return false
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, req *request) {
	obj, err := req.store.Get(r.Context(), req.ri.Namespace, req.ri.Name, r.URL.Query().Get("resourceVersion"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResult(w, r, req, http.StatusOK, obj)
}

// writeResult writes one object, transformed to a Table or metadata if asked.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, req *request, code int, obj runtime.Object) {
	switch req.out.As {
	case "Table":
		t, err := s.table(req, []runtime.Object{obj}, r.URL.Query().Get("includeObject"), false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeObject(w, r, code, req.out, t)
	case "PartialObjectMetadata":
		s.writeObject(w, r, code, req.out, registry.PartialMetadata(obj, req.out.AsVersion))
	case "PartialObjectMetadataList":
		s.writeError(w, r, apierrors.NewBadRequest("PartialObjectMetadataList is only served for lists"))
	default:
		s.writeObject(w, r, code, req.out, obj)
	}
}

func (s *Server) table(req *request, items []runtime.Object, includeObject string, noHeaders bool) (*metav1.Table, error) {
	if includeObject == "" {
		includeObject = "Metadata"
	}
	switch includeObject {
	case "None", "Metadata", "Object":
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject: Unsupported value: %q: supported values: \"Metadata\", \"None\", \"Object\"", includeObject))
	}
	var t *metav1.Table
	var err error
	if s.cfg.Tables != nil {
		t, err = s.cfg.Tables(req.res.GVK.GroupKind(), items, s.cfg.Now(), includeObject, noHeaders)
	} else {
		t, err = defaultTable(items, s.cfg.Now(), includeObject, noHeaders)
	}
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	t.TypeMeta = metav1.TypeMeta{APIVersion: "meta.k8s.io/" + req.out.AsVersion, Kind: "Table"}
	return t, nil
}

// listOptions are a LIST or WATCH request's query parameters.
type listOptions struct {
	storage.ListOptions
	watch             bool
	timeoutSeconds    int64
	allowBookmarks    bool
	sendInitialEvents *bool
}

func invalidListOptions(errs field.ErrorList) error {
	return apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "ListOptions"}, "", errs)
}

// parseListOptions reads and validates the query parameters of a list or watch, as
// upstream's ValidateListOptions does.
func (s *Server) parseListOptions(r *http.Request, req *request) (*listOptions, error) {
	q := r.URL.Query()
	o := &listOptions{}
	o.ResourceVersion = q.Get("resourceVersion")
	o.Match = storage.ResourceVersionMatch(q.Get("resourceVersionMatch"))
	o.Continue = q.Get("continue")
	o.watch = isWatch(r)
	o.allowBookmarks = q.Get("allowWatchBookmarks") == "true" || q.Get("allowWatchBookmarks") == "1"
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q: %v", v, err))
		}
		o.Limit = n
	}
	if v := q.Get("timeoutSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds %q: %v", v, err))
		}
		o.timeoutSeconds = n
	}
	if v := q.Get("sendInitialEvents"); v != "" {
		b := v == "true" || v == "1"
		o.sendInitialEvents = &b
	}
	p, err := req.res.Predicate(q.Get("labelSelector"), q.Get("fieldSelector"))
	if err != nil {
		return nil, err
	}
	o.Predicate = p
	var errs field.ErrorList
	switch o.Match {
	case "", storage.MatchNotOlderThan, storage.MatchExact:
	default:
		errs = append(errs, field.NotSupported(field.NewPath("resourceVersionMatch"), o.Match, []string{string(storage.MatchExact), string(storage.MatchNotOlderThan), ""}))
	}
	if o.watch {
		if o.sendInitialEvents != nil {
			if o.Match != storage.MatchNotOlderThan {
				errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
			}
			if *o.sendInitialEvents && !o.allowBookmarks {
				errs = append(errs, field.Forbidden(field.NewPath("allowWatchBookmarks"), "sendInitialEvents requires setting allowWatchBookmarks to true"))
			}
		} else if o.Match != "" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
		}
	} else {
		if o.sendInitialEvents != nil {
			errs = append(errs, field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
		}
		if o.Match != "" && o.ResourceVersion == "" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden unless resourceVersion is provided"))
		}
		if o.Match != "" && o.Continue != "" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden when continue is provided"))
		}
		if o.Match == storage.MatchExact && o.ResourceVersion == "0" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""))
		}
	}
	if len(errs) > 0 {
		return nil, invalidListOptions(errs)
	}
	return o, nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, req *request) {
	o, err := s.parseListOptions(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ns := req.ri.Namespace
	if req.res.Plural == "namespaces" {
		ns = ""
	}
	res, err := req.store.List(r.Context(), ns, o.ListOptions)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lm := metav1.ListMeta{ResourceVersion: strconv.FormatUint(res.ResourceVersion, 10), Continue: res.Continue, RemainingItemCount: res.RemainingItemCount}
	switch req.out.As {
	case "Table":
		t, err := s.table(req, res.Items, r.URL.Query().Get("includeObject"), false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		t.ListMeta = lm
		s.writeObject(w, r, http.StatusOK, req.out, t)
		return
	case "PartialObjectMetadataList", "PartialObjectMetadata":
		l := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/" + req.out.AsVersion, Kind: "PartialObjectMetadataList"}, ListMeta: lm}
		for _, it := range res.Items {
			l.Items = append(l.Items, *registry.PartialMetadata(it, req.out.AsVersion))
		}
		s.writeObject(w, r, http.StatusOK, req.out, l)
		return
	}
	list, err := s.reg.Scheme.New(req.res.GVK.GroupVersion().WithKind(req.res.GVK.Kind + "List"))
	if err != nil {
		s.writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	list.GetObjectKind().SetGroupVersionKind(req.res.GVK.GroupVersion().WithKind(req.res.GVK.Kind + "List"))
	if err := meta.SetList(list, res.Items); err != nil {
		s.writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	if la, err := meta.ListAccessor(list); err == nil {
		la.SetResourceVersion(lm.ResourceVersion)
		la.SetContinue(lm.Continue)
		la.SetRemainingItemCount(lm.RemainingItemCount)
	}
	var enc runtime.Encoder
	switch {
	case req.out.MediaType == mediaJSON && r.URL.Query().Get("pretty") == "":
		enc = s.codecs.streamJSON
	case req.out.MediaType == mediaProtobuf:
		enc = s.codecs.streamProtobuf
	default:
		s.writeObject(w, r, http.StatusOK, req.out, list)
		return
	}
	// Lists are encoded item by item straight to the client, so that a large LIST does not
	// hold a second copy of every object in one buffer.
	w.Header().Set("Content-Type", req.out.MediaType)
	w.WriteHeader(http.StatusOK)
	_ = enc.Encode(list, w)
}

// writeOptions reads dryRun from the query.
func writeOptions(r *http.Request, subresource string) (registry.WriteOptions, error) {
	o := registry.WriteOptions{Subresource: subresource}
	for _, d := range r.URL.Query()["dryRun"] {
		if d != metav1.DryRunAll {
			return o, apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "CreateOptions"}, "",
				field.ErrorList{field.NotSupported(field.NewPath("dryRun"), r.URL.Query()["dryRun"], []string{metav1.DryRunAll})})
		}
		o.DryRun = true
	}
	return o, nil
}

// readBody reads a request body up to the size limit.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", s.cfg.MaxBodyBytes))
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if int64(len(data)) > s.cfg.MaxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", s.cfg.MaxBodyBytes))
	}
	return data, nil
}

// fieldValidation returns the request's fieldValidation directive (default Warn).
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return "Warn", nil
	case "Strict", "Warn", "Ignore":
		return v, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation invalid value: %s, valid values are: %s, %s, %s", v, "Ignore", "Warn", "Strict"))
}

// decodeBody decodes a body of the given media type into an object of gvk, applying the
// fieldValidation directive: Strict turns unknown and duplicate fields into a 400, Warn into
// Warning headers.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, data []byte, mediaType string, gvk schema.GroupVersionKind) (runtime.Object, error) {
	validation, err := fieldValidation(r)
	if err != nil {
		return nil, err
	}
	var dec runtime.Decoder
	switch mediaType {
	case mediaJSON:
		dec = s.codecs.strictJSON
	case mediaYAML:
		dec = s.codecs.strictYAML
	case mediaProtobuf:
		dec = s.codecs.protobuf
	default:
		return nil, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "",
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s", mediaJSON, mediaYAML, mediaProtobuf), 0, false)
	}
	into, err := s.reg.Scheme.New(gvk)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	obj, actual, err := dec.Decode(data, &gvk, into)
	if err != nil && !runtime.IsStrictDecodingError(err) {
		if actual != nil && actual.GroupVersion() != gvk.GroupVersion() && actual.Version != "" {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", actual.GroupVersion(), gvk.GroupVersion()))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
	}
	if err != nil {
		strictErr := err
		switch validation {
		case "Strict":
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, strictErr))
		case "Warn":
			if se, ok := runtime.AsStrictDecodingError(strictErr); ok {
				for _, e := range se.Errors() {
					addWarning(w, e.Error())
				}
			}
		}
	}
	if actual != nil && *actual != gvk {
		if actual.GroupVersion() != gvk.GroupVersion() {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", actual.GroupVersion(), gvk.GroupVersion()))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", actual.Kind, gvk.Kind))
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

func addWarning(w http.ResponseWriter, msg string) {
	w.Header().Add("Warning", `299 - `+strconv.Quote(msg))
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, req *request) {
	data, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.decodeBody(w, r, data, requestMediaType(r.Header.Get("Content-Type")), req.res.GVK)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := writeOptions(r, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ns := req.ri.Namespace
	if req.res.Plural == "namespaces" {
		ns = ""
	}
	if req.res.Virtual != nil {
		if a, err := meta.Accessor(obj); err == nil && req.res.Namespaced {
			if a.GetNamespace() != "" && a.GetNamespace() != ns {
				s.writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
				return
			}
			a.SetNamespace(ns)
		}
		out, err := req.res.Virtual(r.Context(), obj)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.GetObjectKind().SetGroupVersionKind(req.res.GVK)
		s.writeObject(w, r, http.StatusCreated, req.out, out)
		return
	}
	out, err := req.store.Create(r.Context(), ns, obj, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusCreated, req.out, out)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, req *request, subresource string) {
	data, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.decodeBody(w, r, data, requestMediaType(r.Header.Get("Content-Type")), req.res.GVK)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := writeOptions(r, subresource)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, created, err := req.store.Update(r.Context(), req.namespace(), req.ri.Name, func(runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	}, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.writeObject(w, r, code, req.out, out)
}

func (req *request) namespace() string {
	if req.res.Plural == "namespaces" {
		return ""
	}
	return req.ri.Namespace
}

// deleteOptions reads DeleteOptions from the body (JSON, YAML or protobuf) and the query.
func (s *Server) deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	data, err := s.readBody(r)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) > 0 {
		gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		var dec runtime.Decoder = s.codecs.json
		switch requestMediaType(r.Header.Get("Content-Type")) {
		case mediaProtobuf:
			dec = s.codecs.protobuf
		case mediaYAML:
			dec = s.codecs.yaml
		}
		obj, _, err := dec.Decode(data, &gvk, opts)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: %v", err))
		}
		if o, ok := obj.(*metav1.DeleteOptions); ok {
			opts = o
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := v == "true"
		opts.OrphanDependents = &b
	}
	opts.DryRun = append(opts.DryRun, q["dryRun"]...)
	return opts, nil
}

func isDryRun(opts *metav1.DeleteOptions) bool { return len(opts.DryRun) > 0 }

func (s *Server) delete(w http.ResponseWriter, r *http.Request, req *request) {
	opts, err := s.deleteOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, deleted, err := req.store.Delete(r.Context(), req.namespace(), req.ri.Name, opts, isDryRun(opts))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if deleted && !req.res.ReturnDeletedObject {
		s.writeObject(w, r, http.StatusOK, req.out, successStatus(req.res.GroupResource(), out))
		return
	}
	code := http.StatusOK
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	s.writeObject(w, r, code, req.out, out)
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request, req *request) {
	o, err := s.parseListOptions(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.deleteOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := req.store.List(r.Context(), req.ri.Namespace, storage.ListOptions{Predicate: o.Predicate})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var deleted []runtime.Object
	for _, it := range res.Items {
		a, _ := meta.Accessor(it)
		out, _, err := req.store.Delete(r.Context(), a.GetNamespace(), a.GetName(), opts, isDryRun(opts))
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		deleted = append(deleted, out)
	}
	listGVK := req.res.GVK.GroupVersion().WithKind(req.res.GVK.Kind + "List")
	list, err := s.reg.Scheme.New(listGVK)
	if err != nil {
		s.writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	list.GetObjectKind().SetGroupVersionKind(listGVK)
	_ = meta.SetList(list, deleted)
	s.writeObject(w, r, http.StatusOK, req.out, list)
}

// requestContext bounds a request by the server's lifetime.
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}
