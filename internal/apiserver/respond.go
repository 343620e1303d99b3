package apiserver

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// codecs are the serializers the server reads and writes with.
type codecs struct {
	json, jsonPretty, yaml *json.Serializer
	strictJSON, strictYAML *json.Serializer
	protobuf               *protobuf.Serializer
	rawProtobuf            *protobuf.RawSerializer
	scheme                 *runtime.Scheme
}

func newCodecs(scheme *runtime.Scheme) *codecs {
	mf := json.DefaultMetaFactory
	return &codecs{
		json:        json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{}),
		jsonPretty:  json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Pretty: true}),
		yaml:        json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Yaml: true}),
		strictJSON:  json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Strict: true}),
		strictYAML:  json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true}),
		protobuf:    protobuf.NewSerializer(scheme, scheme),
		rawProtobuf: protobuf.NewRawSerializer(scheme, scheme),
		scheme:      scheme,
	}
}

func (c *codecs) encoder(mediaType string, pretty bool) runtime.Encoder {
	switch mediaType {
	case mediaYAML:
		return c.yaml
	case mediaProtobuf:
		return c.protobuf
	}
	if pretty {
		return c.jsonPretty
	}
	return c.json
}

func (c *codecs) encode(mediaType string, obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	if err := c.encoder(mediaType, false).Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeObject encodes obj with the response's media type.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, code int, out Output, obj runtime.Object) {
	if out.MediaType == "" {
		out.MediaType = mediaJSON
	}
	var buf bytes.Buffer
	pretty := r.URL.Query().Get("pretty") == "true" || r.URL.Query().Get("pretty") == "1"
	if err := s.codecs.encoder(out.MediaType, pretty).Encode(obj, &buf); err != nil {
		s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("encode response: %w", err)))
		return
	}
	w.Header().Set("Content-Type", out.MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeError writes err as a metav1.Status, in JSON.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(err)
	status.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	if rec, ok := w.(*statusRecorder); ok {
		rec.status = status
	}
	if status.Code == http.StatusTooManyRequests || status.Code == http.StatusGatewayTimeout {
		if status.Details != nil && status.Details.RetryAfterSeconds > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(status.Details.RetryAfterSeconds)))
		}
	}
	s.writeObject(w, r, int(status.Code), Output{MediaType: mediaJSON}, status)
}

func errorStatus(err error) *metav1.Status {
	if se, ok := err.(apierrors.APIStatus); ok {
		st := se.Status()
		if st.Code == 0 {
			st.Code = http.StatusInternalServerError
		}
		return &st
	}
	st := apierrors.NewInternalError(err).Status()
	return &st
}

// successStatus is the Status upstream returns for a delete that does not return the object.
func successStatus(gr schema.GroupResource, obj runtime.Object) *metav1.Status {
	a, _ := meta.Accessor(obj)
	st := &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Details:  &metav1.StatusDetails{Group: gr.Group, Kind: gr.Resource},
	}
	if a != nil {
		st.Details.Name = a.GetName()
		st.Details.UID = a.GetUID()
	}
	return st
}
