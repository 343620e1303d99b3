package kubelet

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// Upstream's default file mode of configMap, secret, downwardAPI and projected volumes.
const defaultVolumeMode = 0o644

// VolumeDir is the host directory of a pod's volume under the kubelet's pods directory:
// <podsDir>/<uid>/volumes/<name>.
func VolumeDir(podsDir string, uid types.UID, name string) string {
	return filepath.Join(podsDir, string(uid), "volumes", name)
}

// VolumePath returns the host path of pod's volume name, as the runtime mounts it: the path of
// a hostPath volume, the volume's directory under podsDir for the kinds the kubelet prepares
// (emptyDir, configMap, secret, downwardAPI, projected), and an error for a volume the pod does
// not have or a kind this node cannot provide.
func VolumePath(podsDir string, pod *corev1.Pod, name string) (string, error) {
	v := findVolume(pod, name)
	if v == nil {
		return "", fmt.Errorf("pod %s/%s has no volume %q", pod.Namespace, pod.Name, name)
	}
	switch {
	case v.HostPath != nil:
		return v.HostPath.Path, nil
	case v.EmptyDir != nil, v.ConfigMap != nil, v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
		return VolumeDir(podsDir, pod.UID, name), nil
	}
	return "", fmt.Errorf("volume %q: %s volumes are not supported on this node", name, volumeKind(v))
}

func findVolume(pod *corev1.Pod, name string) *corev1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// volumeKind names the volume's source as the API spells it.
func volumeKind(v *corev1.Volume) string {
	s := v.VolumeSource
	switch {
	case s.HostPath != nil:
		return "hostPath"
	case s.EmptyDir != nil:
		return "emptyDir"
	case s.ConfigMap != nil:
		return "configMap"
	case s.Secret != nil:
		return "secret"
	case s.DownwardAPI != nil:
		return "downwardAPI"
	case s.Projected != nil:
		return "projected"
	case s.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	case s.Ephemeral != nil:
		return "ephemeral"
	case s.Image != nil:
		return "image"
	case s.CSI != nil:
		return "csi"
	case s.NFS != nil:
		return "nfs"
	}
	return "this kind of"
}

// payloadSources is what building a volume's payload reads.
type payloadSources struct {
	configMap   func(namespace, name string) (*corev1.ConfigMap, error)
	secret      func(namespace, name string) (*corev1.Secret, error)
	token       func(pod *corev1.Pod, source *corev1.ServiceAccountTokenProjection) (string, time.Time, error)
	allocatable corev1.ResourceList
}

func modeOr(m *int32, def int32) os.FileMode {
	if m != nil {
		return os.FileMode(*m)
	}
	return os.FileMode(def)
}

// keyPayload is upstream's MakePayload of configMap and secret volumes: every key (with
// defaultMode), or the items' keys at their paths; a missing key is an error unless optional.
func keyPayload(items []corev1.KeyToPath, data map[string][]byte, defaultMode os.FileMode, optional bool, what string) (map[string]fileProjection, error) {
	out := map[string]fileProjection{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = fileProjection{Data: v, Mode: defaultMode}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("%s references non-existent %s key: %s", what, map[string]string{"configmap": "config", "secret": "secret"}[what], it.Key)
		}
		mode := defaultMode
		if it.Mode != nil {
			mode = os.FileMode(*it.Mode)
		}
		out[it.Path] = fileProjection{Data: v, Mode: mode}
	}
	return out, nil
}

func configMapData(cm *corev1.ConfigMap) map[string][]byte {
	out := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		out[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		out[k] = v
	}
	return out
}

// configMapPayload is the payload of a configMap volume or projection.
func configMapPayload(pod *corev1.Pod, name string, items []corev1.KeyToPath, optional bool, mode os.FileMode, src payloadSources) (map[string]fileProjection, error) {
	cm, err := src.configMap(pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return map[string]fileProjection{}, nil
		}
		return nil, err
	}
	return keyPayload(items, configMapData(cm), mode, optional, "configmap")
}

// secretPayload is the payload of a secret volume or projection.
func secretPayload(pod *corev1.Pod, name string, items []corev1.KeyToPath, optional bool, mode os.FileMode, src payloadSources) (map[string]fileProjection, error) {
	s, err := src.secret(pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return map[string]fileProjection{}, nil
		}
		return nil, err
	}
	return keyPayload(items, s.Data, mode, optional, "secret")
}

// downwardAPIPayload is upstream's downwardapi.CollectData: each item's field of the pod or
// resource of a container.
func downwardAPIPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, defaultMode os.FileMode, allocatable corev1.ResourceList) (map[string]fileProjection, error) {
	out := map[string]fileProjection{}
	var errs []error
	for _, it := range items {
		f := fileProjection{Mode: defaultMode}
		if it.Mode != nil {
			f.Mode = os.FileMode(*it.Mode)
		}
		switch {
		case it.FieldRef != nil:
			v, err := metadataFieldValue(pod, it.FieldRef.FieldPath)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.Data = []byte(v)
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				errs = append(errs, fmt.Errorf("container %s not found", it.ResourceFieldRef.ContainerName))
				continue
			}
			v, err := containerResourceValue(it.ResourceFieldRef, c, allocatable)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.Data = []byte(v)
		}
		out[filepath.Clean(it.Path)] = f
	}
	return out, aggregate(errs)
}

// projectedPayload merges the payloads of a projected volume's sources, and says when its
// earliest token needs refreshing.
func projectedPayload(pod *corev1.Pod, p *corev1.ProjectedVolumeSource, src payloadSources) (map[string]fileProjection, time.Time, error) {
	mode := modeOr(p.DefaultMode, defaultVolumeMode)
	out := map[string]fileProjection{}
	var refresh time.Time
	var errs []error
	merge := func(m map[string]fileProjection, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for k, v := range m {
			out[k] = v
		}
	}
	for _, s := range p.Sources {
		switch {
		case s.ConfigMap != nil:
			merge(configMapPayload(pod, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional != nil && *s.ConfigMap.Optional, mode, src))
		case s.Secret != nil:
			merge(secretPayload(pod, s.Secret.Name, s.Secret.Items, s.Secret.Optional != nil && *s.Secret.Optional, mode, src))
		case s.DownwardAPI != nil:
			merge(downwardAPIPayload(pod, s.DownwardAPI.Items, mode, src.allocatable))
		case s.ServiceAccountToken != nil:
			tok, at, err := src.token(pod, s.ServiceAccountToken)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out[s.ServiceAccountToken.Path] = fileProjection{Data: []byte(tok), Mode: mode}
			if refresh.IsZero() || at.Before(refresh) {
				refresh = at
			}
		case s.ClusterTrustBundle != nil:
			errs = append(errs, errors.New("clusterTrustBundle projections are not supported on this node"))
		case s.PodCertificate != nil:
			errs = append(errs, errors.New("podCertificate projections are not supported on this node"))
		}
	}
	return out, refresh, aggregate(errs)
}

// aggregate joins errors as upstream's utilerrors.NewAggregate prints them.
func aggregate(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New("[" + strings.Join(msgs, ", ") + "]")
}

// checkHostPath applies a hostPath volume's type check, creating what DirectoryOrCreate and
// FileOrCreate ask for (upstream's checkTypeInternal and its messages).
func checkHostPath(hp *corev1.HostPathVolumeSource) error {
	p := hp.Path
	typ := corev1.HostPathUnset
	if hp.Type != nil {
		typ = *hp.Type
	}
	fi, statErr := os.Stat(p)
	exists := statErr == nil
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			return os.Chmod(p, 0o755)
		}
		fallthrough
	case corev1.HostPathDirectory:
		if !exists {
			return fmt.Errorf("hostPath type check failed: %s does not exist", p)
		}
		if !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", p)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		fallthrough
	case corev1.HostPathFile:
		if !exists {
			return fmt.Errorf("hostPath type check failed: %s does not exist", p)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", p)
		}
	case corev1.HostPathSocket:
		if !exists || fi.Mode()&fs.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", p)
		}
	case corev1.HostPathCharDev:
		if !exists || fi.Mode()&fs.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", p)
		}
	case corev1.HostPathBlockDev:
		if !exists || fi.Mode()&fs.ModeDevice == 0 || fi.Mode()&fs.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", p)
		}
	default:
		return fmt.Errorf("%s is an invalid volume type", typ)
	}
	return nil
}

// volumeError is one volume that could not be set up.
type volumeError struct {
	volume string
	err    error
}

// volumeManager prepares pods' volumes under dir: <dir>/<uid>/volumes/<name>. emptyDir
// volumes are directories (tmpfs for medium Memory); configMap and downwardAPI volumes are
// written with the atomic writer on disk; secret and projected volumes likewise on a tmpfs of
// their own, so that secrets and tokens never reach the disk.
type volumeManager struct {
	dir    string
	memory func() int64 // the node's memory, the size of an unlimited memory emptyDir
	// tmpfs is false where mounting is not allowed (tests run by other users): secret and
	// projected volumes are then plain directories, and memory emptyDirs refused.
	tmpfs bool

	mu      sync.Mutex
	written map[types.UID]map[string][32]byte // last payload written per volume
	mounted map[string]bool                   // tmpfs mounts made by this process
}

func newVolumeManager(dir string, memory func() int64) *volumeManager {
	return &volumeManager{dir: dir, memory: memory, tmpfs: os.Geteuid() == 0, written: map[types.UID]map[string][32]byte{}, mounted: map[string]bool{}}
}

// setUp prepares every volume of pod, updating those whose content changed. It returns when
// the pod's tokens next need refreshing (zero if it has none) and the volumes that failed.
func (m *volumeManager) setUp(pod *corev1.Pod, src payloadSources, now time.Time) (refresh time.Time, failed []volumeError) {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		at, err := m.setUpVolume(pod, v, src, now)
		if err != nil {
			failed = append(failed, volumeError{volume: v.Name, err: err})
			continue
		}
		if !at.IsZero() && (refresh.IsZero() || at.Before(refresh)) {
			refresh = at
		}
	}
	return refresh, failed
}

func (m *volumeManager) setUpVolume(pod *corev1.Pod, v *corev1.Volume, src payloadSources, now time.Time) (time.Time, error) {
	dir := VolumeDir(m.dir, pod.UID, v.Name)
	var (
		payload map[string]fileProjection
		refresh time.Time
		err     error
		tmpfs   bool
	)
	switch {
	case v.HostPath != nil:
		return time.Time{}, checkHostPath(v.HostPath)
	case v.EmptyDir != nil:
		return time.Time{}, m.setUpEmptyDir(dir, v.EmptyDir)
	case v.ConfigMap != nil:
		s := v.ConfigMap
		payload, err = configMapPayload(pod, s.Name, s.Items, s.Optional != nil && *s.Optional, modeOr(s.DefaultMode, defaultVolumeMode), src)
	case v.Secret != nil:
		s := v.Secret
		tmpfs = true
		payload, err = secretPayload(pod, s.SecretName, s.Items, s.Optional != nil && *s.Optional, modeOr(s.DefaultMode, defaultVolumeMode), src)
	case v.DownwardAPI != nil:
		payload, err = downwardAPIPayload(pod, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode, defaultVolumeMode), src.allocatable)
	case v.Projected != nil:
		tmpfs = true
		payload, refresh, err = projectedPayload(pod, v.Projected, src)
	default:
		return time.Time{}, fmt.Errorf("%s volumes are not supported on this node", volumeKind(v))
	}
	if err != nil {
		return time.Time{}, err
	}
	if tmpfs && m.tmpfs {
		if err := m.ensureTmpfs(dir, "mode=0755"); err != nil {
			return time.Time{}, err
		}
	}
	sum := payloadHash(payload)
	m.mu.Lock()
	same := m.written[pod.UID] != nil && m.written[pod.UID][v.Name] == sum
	m.mu.Unlock()
	if same {
		return refresh, nil
	}
	if _, err := writeAtomic(dir, payload, now); err != nil {
		return time.Time{}, err
	}
	m.mu.Lock()
	if m.written[pod.UID] == nil {
		m.written[pod.UID] = map[string][32]byte{}
	}
	m.written[pod.UID][v.Name] = sum
	m.mu.Unlock()
	return refresh, nil
}

// payloadHash is a digest of a payload's paths, modes and contents.
func payloadHash(p map[string]fileProjection) [32]byte {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00", k, p[k].Mode, len(p[k].Data))
		h.Write(p[k].Data)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// setUpEmptyDir makes an emptyDir: a directory anyone may write (mode 0777), or a tmpfs of
// sizeLimit (the node's memory when unset) for medium Memory.
func (m *volumeManager) setUpEmptyDir(dir string, e *corev1.EmptyDirVolumeSource) error {
	switch e.Medium {
	case corev1.StorageMediumDefault:
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		return os.Chmod(dir, 0o777)
	case corev1.StorageMediumMemory:
		size := m.memory()
		if e.SizeLimit != nil && !e.SizeLimit.IsZero() {
			size = e.SizeLimit.Value()
		}
		opts := "mode=0777"
		if size > 0 {
			opts += ",size=" + strconv.FormatInt(size, 10)
		}
		return m.ensureTmpfs(dir, opts)
	}
	return fmt.Errorf("emptyDir medium %q is not supported on this node", e.Medium)
}

// ensureTmpfs mounts a tmpfs at dir unless one is there.
func (m *volumeManager) ensureTmpfs(dir, opts string) error {
	m.mu.Lock()
	done := m.mounted[dir]
	m.mu.Unlock()
	if done {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mounted, err := mountinfo.Mounted(dir)
	if err != nil {
		return err
	}
	if !mounted {
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return fmt.Errorf("mount tmpfs at %s: %w", dir, err)
		}
	}
	m.mu.Lock()
	m.mounted[dir] = true
	m.mu.Unlock()
	return nil
}

// tearDown unmounts and removes every volume of the pod uid (hostPath volumes are not under
// the pod's directory and are left alone). It refuses to remove a directory that still has
// a mount under it.
func (m *volumeManager) tearDown(uid types.UID) error {
	podDir := filepath.Join(m.dir, string(uid))
	m.mu.Lock()
	delete(m.written, uid)
	for d := range m.mounted {
		if strings.HasPrefix(d, podDir+"/") {
			delete(m.mounted, d)
		}
	}
	m.mu.Unlock()
	if _, err := os.Lstat(podDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(podDir))
	if err != nil {
		return err
	}
	// Deepest first.
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].Mountpoint) > len(mounts[j].Mountpoint) })
	for _, mi := range mounts {
		if err := unix.Unmount(mi.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", mi.Mountpoint, err)
		}
	}
	if left, err := mountinfo.GetMounts(mountinfo.PrefixFilter(podDir)); err != nil {
		return err
	} else if len(left) > 0 {
		return fmt.Errorf("pod directory %s still has %d mounts", podDir, len(left))
	}
	return os.RemoveAll(podDir)
}

// podDirs lists the pod UIDs that have a directory.
func (m *volumeManager) podDirs() ([]types.UID, error) {
	entries, err := os.ReadDir(m.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []types.UID
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, types.UID(e.Name()))
		}
	}
	return out, nil
}

// podSources wraps a context around the object reads of payloads and env.
func objectReaders(ctx context.Context, c *objectCache) (func(string, string) (*corev1.ConfigMap, error), func(string, string) (*corev1.Secret, error)) {
	return func(ns, name string) (*corev1.ConfigMap, error) { return c.configMap(ctx, ns, name) },
		func(ns, name string) (*corev1.Secret, error) { return c.secret(ctx, ns, name) }
}
