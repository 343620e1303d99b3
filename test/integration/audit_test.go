package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/audit"
)

// TestAuditLog checks that mutating requests appear in <data-dir>/audit.log with user, verb,
// resource and response code.
func TestAuditLog(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	_, _ = client().CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "audited"}}, metav1.CreateOptions{})
	_ = client().CoreV1().ConfigMaps(ns).Delete(ctx, "missing", metav1.DeleteOptions{})
	want := map[string]int32{"create": 201, "delete": 404}
	eventually(t, 5*time.Second, func() error {
		f, err := os.Open(filepath.Join(shared.DataDir, "audit.log"))
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		found := map[string]bool{}
		for sc.Scan() {
			var e audit.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("audit line is not an Event: %v: %s", err, sc.Text())
			}
			if e.Kind != "Event" || e.APIVersion != "audit.k8s.io/v1" || e.Level != "Metadata" {
				t.Fatalf("audit event shape: %s", sc.Text())
			}
			if e.ObjectRef == nil || e.ObjectRef.Namespace != ns || e.ObjectRef.Resource != "configmaps" {
				continue
			}
			if code, ok := want[e.Verb]; ok && e.ResponseStatus != nil && e.ResponseStatus.Code == code && e.User.Username == "system:admin" {
				found[e.Verb] = true
			}
		}
		if len(found) != len(want) {
			return os.ErrNotExist
		}
		return nil
	})
	fi, err := os.Stat(filepath.Join(shared.DataDir, "audit.log"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit log mode: %v %v", fi, err)
	}
}
