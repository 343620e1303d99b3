package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// applyPatch applies a patch of the given media type to the JSON of current, using schemaObj
// (a typed object of the kind) for strategic merge.
func applyPatch(mediaType string, current, patch []byte, schemaObj runtime.Object) ([]byte, error) {
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
	if mediaType == mediaApplyPatch {
		s.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "",
			"server-side apply is not supported yet by this server", 0, false))
		return
	}
	o, err := writeOptions(r, subresource)
	if err != nil {
		s.writeError(w, r, err)
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
