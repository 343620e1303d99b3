package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/skiff-project/skiff/internal/registry"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// applyPatch applies a patch of the given media type to the JSON of current, using schemaObj
// (a typed object of the kind) for strategic merge. A patch that makes the patch library panic
// (it does, for some malformed strategic merge patches) is refused as unprocessable.
func applyPatch(mediaType string, current, patch []byte, schemaObj runtime.Object) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "",
				fmt.Sprintf("the patch could not be applied: %v", r), 0, false)
		}
	}()
	switch mediaType {
	case mediaJSONPatch:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err := p.Apply(current)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return out, nil
	case mediaMergePatch:
		if !json.Valid(patch) {
			return nil, apierrors.NewBadRequest("error decoding patch: invalid JSON")
		}
		out, err := jsonpatch.MergePatch(current, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	case mediaStrategicPatch:
		var m map[string]interface{}
		if err := json.Unmarshal(patch, &m); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
		out, err := strategicpatch.StrategicMergePatch(current, patch, schemaObj)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return out, nil
	}
	return nil, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "",
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s", mediaJSONPatch, mediaMergePatch, mediaStrategicPatch), 0, false)
}

// patch applies a patch to the stored object (or its status) and stores the result.
func (s *Server) patch(w http.ResponseWriter, r *http.Request, req *request, subresource string) {
	data, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mediaType := requestMediaType(r.Header.Get("Content-Type"))
	o, err := writeOptions(r, subresource)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if mediaType == mediaApplyPatch {
		s.apply(w, r, req, data, o)
		return
	}
	transform := func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(req.res.GroupResource(), req.ri.Name)
		}
		curJSON, err := s.codecs.encode(mediaJSON, cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(mediaType, curJSON, data, s.reg.New(req.res.GVK))
		if err != nil {
			return nil, err
		}
		return s.decodeBody(w, r, patched, mediaJSON, req.res.GVK)
	}
	out, _, err := req.store.Update(r.Context(), req.namespace(), req.ri.Name, transform, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusOK, req.out, out)
}

// apply serves server-side apply (application/apply-patch+yaml): the configuration is merged
// into the live object by the field manager, which records ownership and reports conflicts;
// a missing object is created.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, req *request, data []byte, o registry.WriteOptions) {
	q := r.URL.Query()
	manager := q.Get("fieldManager")
	if manager == "" {
		s.writeError(w, r, apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "PatchOptions"}, "",
			field.ErrorList{field.Required(field.NewPath("fieldManager"), "is required for apply patch")}))
		return
	}
	force := q.Get("force") == "true" || q.Get("force") == "1"
	applied := &unstructured.Unstructured{Object: map[string]interface{}{}}
	if err := yaml.Unmarshal(data, &applied.Object); err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err)))
		return
	}
	if applied.Object == nil {
		s.writeError(w, r, apierrors.NewBadRequest("error decoding YAML: the apply configuration is empty"))
		return
	}
	if gvk := applied.GroupVersionKind(); gvk != req.res.GVK {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the apply configuration is %s, but the endpoint serves %s", gvk, req.res.GVK)))
		return
	}
	if name := applied.GetName(); name != req.ri.Name {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", name, req.ri.Name)))
		return
	}
	o.AllowCreate = o.Subresource == ""
	ctx := registry.WithoutTracking(r.Context())
	transform := func(cur runtime.Object) (runtime.Object, error) {
		live := cur
		if live == nil {
			if o.Subresource != "" {
				return nil, apierrors.NewNotFound(req.res.GroupResource(), req.ri.Name)
			}
			live = req.store.NewObject()
			a, _ := meta.Accessor(live)
			a.SetName(req.ri.Name)
			a.SetNamespace(req.namespace())
		}
		out, err := req.store.Apply(live.DeepCopyObject(), applied.DeepCopy(), manager, force, o.Subresource)
		if err != nil {
			if _, ok := err.(apierrors.APIStatus); ok {
				return nil, err
			}
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if cur == nil {
			// A created object gets its server-set metadata from create.
			a, _ := meta.Accessor(out)
			a.SetResourceVersion("")
			a.SetUID("")
		}
		return out, nil
	}
	out, created, err := req.store.Update(ctx, req.namespace(), req.ri.Name, transform, o)
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
