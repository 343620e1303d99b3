package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/encryption"
	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// Paths of the secrets-encryption endpoints `skiff secrets-encrypt` calls.
const (
	SecretsEncryptStatusPath = "/skiff/v1/secrets-encrypt/status"
	SecretsEncryptRotatePath = "/skiff/v1/secrets-encrypt/rotate"
)

// EncryptionStatus is what the status endpoint reports.
type EncryptionStatus struct {
	Enabled  bool     `json:"enabled"`
	Provider string   `json:"provider"`
	Active   string   `json:"activeKey"`
	Keys     []string `json:"keys"`
	Secrets  int      `json:"secrets"`
	Current  int      `json:"secretsWithActiveKey"`
	Rotated  int      `json:"rewritten,omitempty"`
}

// secretsEncryption serves the status and rotation of the Secret encryption keys.
type secretsEncryption struct {
	keys   *encryption.Keys
	client *clientv3.Client
	store  *registry.Store
	mu     sync.Mutex
}

func (e *secretsEncryption) status(ctx context.Context) (EncryptionStatus, error) {
	st := EncryptionStatus{Enabled: true, Provider: "secretbox", Active: e.keys.Primary(), Keys: e.keys.Names()}
	resp, err := e.client.Get(ctx, "/registry/secrets/", clientv3.WithPrefix())
	if err != nil {
		return st, err
	}
	for _, kv := range resp.Kvs {
		st.Secrets++
		if e.keys.IsCurrent(kv.Value) {
			st.Current++
		}
	}
	return st, nil
}

// rotate makes a new key the active one, rewrites every Secret with it, then forgets the old
// keys. Until the rewrite finishes, both keys decrypt.
func (e *secretsEncryption) rotate(ctx context.Context) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.keys.StartRotation(); err != nil {
		return 0, err
	}
	list, err := e.store.List(ctx, "", storage.ListOptions{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range list.Items {
		s := it.(*corev1.Secret)
		// An update that changes nothing still rewrites bytes sealed with an old key.
		_, _, err := e.store.Update(ctx, s.Namespace, s.Name, func(cur runtime.Object) (runtime.Object, error) {
			return cur.DeepCopyObject(), nil
		}, registry.WriteOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("rewrite secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		n++
	}
	return n, e.keys.FinishRotation()
}

// ServeHTTP serves the two endpoints to cluster admins (group system:masters).
func (e *secretsEncryption) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, _ := registry.UserFrom(r.Context())
	admin := false
	for _, g := range u.Groups {
		admin = admin || g == "system:masters"
	}
	if !admin {
		writeStatusError(w, apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("only cluster administrators may manage secrets encryption")))
		return
	}
	var st EncryptionStatus
	var err error
	switch {
	case r.URL.Path == SecretsEncryptStatusPath && r.Method == http.MethodGet:
		st, err = e.status(r.Context())
	case r.URL.Path == SecretsEncryptRotatePath && r.Method == http.MethodPost:
		var n int
		if n, err = e.rotate(r.Context()); err == nil {
			st, err = e.status(r.Context())
			st.Rotated = n
		}
	default:
		writeStatusError(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "secrets-encrypt"}, r.Method))
		return
	}
	if err != nil {
		writeStatusError(w, apierrors.NewInternalError(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func writeStatusError(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}
