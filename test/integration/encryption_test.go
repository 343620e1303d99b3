package integration

import (
	"bytes"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/server"
)

// TestSecretsEncryptedAtRest reads a Secret's bytes straight from etcd: they are not its
// plaintext, before and after a key rotation, and the Secret reads back the same throughout.
func TestSecretsEncryptedAtRest(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	plain := "correct horse battery staple"
	_, err := client().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"},
		StringData: map[string]string{"password": plain}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := func() []byte {
		resp, err := shared.Etcd.Get(ctx, "/registry/secrets/"+ns+"/s")
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("etcd get: %v", err)
		}
		return resp.Kvs[0].Value
	}
	before := raw()
	if bytes.Contains(before, []byte(plain)) || !bytes.HasPrefix(before, []byte("k8s:enc:secretbox:v1:")) {
		t.Fatalf("secret stored in the clear: %q", before)
	}
	code, _, body := do(t, "GET", server.SecretsEncryptStatusPath, "", "", nil)
	var st server.EncryptionStatus
	if code != 200 || json.Unmarshal(body, &st) != nil || st.Secrets == 0 || st.Current != st.Secrets {
		t.Fatalf("status: %d %s", code, body)
	}
	code, _, body = do(t, "POST", server.SecretsEncryptRotatePath, "", "", nil)
	var rotated server.EncryptionStatus
	if code != 200 || json.Unmarshal(body, &rotated) != nil || rotated.Active == st.Active || rotated.Current != rotated.Secrets || len(rotated.Keys) != 1 {
		t.Fatalf("rotate: %d %s", code, body)
	}
	after := raw()
	if bytes.Contains(after, []byte(plain)) || bytes.Equal(after, before) || !bytes.Contains(after, []byte(rotated.Active)) {
		t.Fatalf("after rotation: %q", after)
	}
	s, err := client().CoreV1().Secrets(ns).Get(ctx, "s", metav1.GetOptions{})
	if err != nil || string(s.Data["password"]) != plain {
		t.Fatalf("secret after rotation: %v %q", err, s.Data)
	}
}
