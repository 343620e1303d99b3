package agent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/kubelet/eviction"
	"github.com/skiff-project/skiff/internal/runtime/linux"
)

// nodeStats measures the machine and the node's pods for node-pressure eviction
// (kubelet.StatsProvider):
//
//   - memory.available: MemTotal minus the working set of the root memory cgroup (cgroup v1:
//     memory.usage_in_bytes minus total_inactive_file, as cAdvisor computes it for upstream's
//     kubelet); on cgroup v2, MemTotal minus MemAvailable from /proc/meminfo;
//   - nodefs.available and nodefs.inodesFree: statfs of the pods directory (volumes; logs
//     and the runtime's state share the data dir);
//   - imagefs.available and imagefs.inodesFree: statfs of the image store (the same
//     filesystem unless the store is mounted elsewhere);
//   - pid.available: the kernel's PID limit (the lower of pid_max and threads-max) minus
//     the tasks that exist (sysinfo's procs).
//
// A pod's memory is its containers' working sets (the runtime reads their cgroups), its
// processes the tasks of its pids cgroup, and its ephemeral storage (only under disk
// pressure) the size of its containers' writable layers and logs and of its emptyDir volumes
// on disk.
type nodeStats struct {
	rt        *linux.Runtime
	podsDir   string
	imagesDir string
	cgroupV2  bool
}

var _ kubelet.StatsProvider = (*nodeStats)(nil)

func newNodeStats(rt *linux.Runtime, podsDir, imagesDir string) *nodeStats {
	return &nodeStats{rt: rt, podsDir: podsDir, imagesDir: imagesDir, cgroupV2: cgroups.IsCgroup2UnifiedMode()}
}

// NodeStats implements kubelet.StatsProvider.
func (s *nodeStats) NodeStats(ctx context.Context) (eviction.Observations, error) {
	obs := eviction.Observations{}
	mem, err := s.memory()
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	obs[eviction.SignalMemoryAvailable] = mem
	for _, fs := range []struct {
		dir           string
		bytes, inodes eviction.Signal
	}{
		{s.podsDir, eviction.SignalNodeFsAvailable, eviction.SignalNodeFsInodesFree},
		{s.imagesDir, eviction.SignalImageFsAvailable, eviction.SignalImageFsInodesFree},
	} {
		var st unix.Statfs_t
		if err := unix.Statfs(fs.dir, &st); err != nil {
			return nil, fmt.Errorf("statfs %s: %w", fs.dir, err)
		}
		obs[fs.bytes] = eviction.Observation{Available: int64(st.Bavail) * st.Bsize, Capacity: int64(st.Blocks) * st.Bsize}
		if st.Files > 0 {
			obs[fs.inodes] = eviction.Observation{Available: int64(st.Ffree), Capacity: int64(st.Files)}
		}
	}
	if pids, err := pidObservation(); err == nil {
		obs[eviction.SignalPIDAvailable] = pids
	}
	return obs, nil
}

// memory observes memory.available.
func (s *nodeStats) memory() (eviction.Observation, error) {
	info, err := meminfo("MemTotal", "MemAvailable")
	if err != nil {
		return eviction.Observation{}, err
	}
	capacity := info["MemTotal"]
	var workingSet int64
	if s.cgroupV2 {
		workingSet = capacity - info["MemAvailable"]
	} else {
		usage, err := readInt("/sys/fs/cgroup/memory/memory.usage_in_bytes")
		if err != nil {
			return eviction.Observation{}, err
		}
		inactive, err := statField("/sys/fs/cgroup/memory/memory.stat", "total_inactive_file")
		if err != nil {
			return eviction.Observation{}, err
		}
		workingSet = max(usage-inactive, 0)
	}
	return eviction.Observation{Available: capacity - workingSet, Capacity: capacity}, nil
}

// pidObservation observes pid.available.
func pidObservation() (eviction.Observation, error) {
	maxPID, err := readInt("/proc/sys/kernel/pid_max")
	if err != nil {
		return eviction.Observation{}, err
	}
	if threads, err := readInt("/proc/sys/kernel/threads-max"); err == nil && threads < maxPID {
		maxPID = threads
	}
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return eviction.Observation{}, err
	}
	return eviction.Observation{Available: maxPID - int64(si.Procs), Capacity: maxPID}, nil
}

// PodStats implements kubelet.StatsProvider.
func (s *nodeStats) PodStats(ctx context.Context, pod *corev1.Pod, disk bool) (eviction.PodStats, error) {
	rs, err := s.rt.Stats(ctx, pod.UID)
	if err != nil {
		return eviction.PodStats{}, err
	}
	var out eviction.PodStats
	byName := map[string]int{}
	for _, c := range rs.Containers {
		byName[c.Name] = len(out.Containers)
		out.Containers = append(out.Containers, eviction.ContainerStats{Name: c.Name, Memory: int64(c.MemoryWorkingSet)})
		out.Memory += int64(c.MemoryWorkingSet)
	}
	if n, err := s.rt.PodProcesses(pod.UID); err == nil {
		out.Processes = n
	}
	if !disk {
		return out, nil
	}
	usage, err := s.rt.ContainerDiskUsage(ctx, pod.UID)
	if err != nil {
		return out, err
	}
	for name, u := range usage {
		i, ok := byName[name]
		if !ok { // exited: not in the runtime's stats, still on disk
			i = len(out.Containers)
			byName[name] = i
			out.Containers = append(out.Containers, eviction.ContainerStats{Name: name})
		}
		out.Containers[i].EphemeralStorage = u.Bytes
		out.EphemeralStorage += u.Bytes
		out.Inodes += u.Inodes
	}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.Medium == corev1.StorageMediumMemory {
			continue
		}
		dir, err := kubelet.VolumePath(s.podsDir, pod, v.Name)
		if err != nil {
			continue
		}
		u, err := linux.DirUsage(ctx, dir)
		if err != nil {
			return out, err
		}
		out.EphemeralStorage += u.Bytes
		out.Inodes += u.Inodes
	}
	return out, nil
}

// meminfo returns the named fields of /proc/meminfo, in bytes.
func meminfo(names ...string) (map[string]int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			v *= 1024
		}
		out[name] = v
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("/proc/meminfo has no %s", n)
		}
	}
	return out, sc.Err()
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// statField returns the field of a cgroup stat file ("name value" lines).
func statField(path, name string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s has no %s", path, name)
}

// reclaimImages is the eviction loop's node-level reclaim under disk pressure: it removes
// every image no container uses (upstream's DeleteUnusedImages).
func (a *Agent) reclaimImages(ctx context.Context) error {
	freed, err := a.store.GC(ctx, 1, 0)
	if freed > 0 {
		a.log.Info("disk pressure: removed unused images", "freed-bytes", freed)
	}
	return err
}
