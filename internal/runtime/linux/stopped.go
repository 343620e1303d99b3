package linux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet"
)

// stoppedFile is the record of a stopped sandbox, in the pod's log directory (which outlives
// the sandbox until RemoveSandbox).
const stoppedFile = ".skiff-stopped.json"

// stoppedPod is what is left of a pod whose sandbox StopSandbox removed: its containers as they
// ended and where their logs are, so that `kubectl logs` of a completed pod keeps working, as
// upstream's dead containers do until the pod is deleted.
type stoppedPod struct {
	Meta podMeta `json:"meta"`
	// Containers in creation order.
	Containers []stoppedContainer `json:"containers"`
}

type stoppedContainer struct {
	kubelet.Container
	LogPath string `json:"logPath"`
}

func (s *stoppedPod) containers() []kubelet.Container {
	out := make([]kubelet.Container, 0, len(s.Containers))
	for _, c := range s.Containers {
		out = append(out, c.Container)
	}
	return out
}

func (s *stoppedPod) logPath(id string) (string, bool) {
	for _, c := range s.Containers {
		if c.ID == id {
			return c.LogPath, true
		}
	}
	return "", false
}

// StopSandbox ends a pod that has finished: as RemoveSandbox it stops the shim, releases the
// root filesystems, tears the pod's network down (its IP returns to the pool) and removes its
// cgroup and namespaces, but it keeps the containers' records and logs, which ListContainers,
// Logs and ContainerLogPath go on serving until RemoveSandbox (the pod deleted). A restarted
// runtime finds them again. Stopping a pod without a sandbox does nothing.
func (r *Runtime) StopSandbox(ctx context.Context, uid types.UID) error {
	r.mu.Lock()
	p, rec := r.pods[uid], r.stopped[uid]
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	if rec != nil {
		// An earlier call recorded the containers and failed later: finish removing.
		return r.removeSandbox(ctx, uid, true)
	}
	sts, err := p.client.List(ctx)
	if err != nil {
		return fmt.Errorf("stop sandbox of pod %s: list containers: %w", uid, err)
	}
	rec = &stoppedPod{Meta: p.meta}
	for _, st := range sts {
		c := toContainer(st)
		if c.State != kubelet.ContainerExited {
			// Never started, or not stopped yet: report it exited, as it will be.
			c.State = kubelet.ContainerExited
		}
		rec.Containers = append(rec.Containers, stoppedContainer{Container: c, LogPath: st.LogPath})
	}
	logDir := r.podLogDir(p.meta)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := filepath.Join(logDir, stoppedFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(logDir, stoppedFile)); err != nil {
		return err
	}
	// Recorded first, so that the pod's containers are never unknown while the sandbox goes:
	// ListContainers answers from the record from now on.
	r.mu.Lock()
	r.stopped[uid] = rec
	r.mu.Unlock()
	return r.removeSandbox(ctx, uid, true)
}

// loadStopped finds the records of stopped sandboxes in the log directory.
func (r *Runtime) loadStopped() {
	matches, _ := filepath.Glob(filepath.Join(r.cfg.LogDir, "*", stoppedFile))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		var rec stoppedPod
		if err := json.Unmarshal(b, &rec); err != nil || rec.Meta.UID == "" {
			r.log.Warn("unreadable record of a stopped pod, removed", "file", m, "err", err)
			os.Remove(m)
			continue
		}
		r.stopped[rec.Meta.UID] = &rec
	}
}

// removeStopped removes what StopSandbox kept of a pod: its logs and its record.
func (r *Runtime) removeStopped(uid types.UID) error {
	r.mu.Lock()
	rec := r.stopped[uid]
	r.mu.Unlock()
	if rec == nil {
		return nil
	}
	if err := os.RemoveAll(r.podLogDir(rec.Meta)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	r.mu.Lock()
	delete(r.stopped, uid)
	r.mu.Unlock()
	return nil
}
