package linux

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// The pod cgroup hierarchy follows the kubelet's (cgroupfs driver):
//
//	<parent>/kubepods/pod<uid>               Guaranteed pods
//	<parent>/kubepods/burstable/pod<uid>     Burstable pods
//	<parent>/kubepods/besteffort/pod<uid>    BestEffort pods
//
// and each container is <pod cgroup>/<container ID>.

// podCgroupPath is the pod's cgroup, relative to the cgroup root.
func podCgroupPath(parent string, pod *corev1.Pod) string {
	qos := ""
	switch qosClass(pod) {
	case corev1.PodQOSBurstable:
		qos = "burstable"
	case corev1.PodQOSBestEffort:
		qos = "besteffort"
	}
	return filepath.Join("/", parent, "kubepods", qos, "pod"+string(pod.UID))
}

// podResources is the pod cgroup's resources, as the kubelet computes them: cpu.shares from the
// sum of requests; a CFS quota and a memory limit only when every container has a limit.
func podResources(pod *corev1.Pod) *cgroups.Resources {
	var reqCPU, limCPU, limMem int64
	allCPU, allMem := true, true
	for _, c := range pod.Spec.Containers {
		rq := c.Resources.Requests.Cpu().MilliValue()
		lm := c.Resources.Limits.Cpu().MilliValue()
		if rq == 0 {
			rq = lm
		}
		reqCPU += rq
		if lm == 0 {
			allCPU = false
		}
		limCPU += lm
		m := c.Resources.Limits.Memory().Value()
		if m == 0 {
			allMem = false
		}
		limMem += m
	}
	// Init containers run one at a time: the pod needs the largest of them, if it is larger.
	for _, c := range pod.Spec.InitContainers {
		rq := c.Resources.Requests.Cpu().MilliValue()
		if rq > reqCPU {
			reqCPU = rq
		}
		if lm := c.Resources.Limits.Cpu().MilliValue(); lm > limCPU {
			limCPU = lm
		}
		if m := c.Resources.Limits.Memory().Value(); m > limMem {
			limMem = m
		}
	}
	r := &cgroups.Resources{SkipDevices: true, CpuShares: milliCPUToShares(reqCPU)}
	if qosClass(pod) == corev1.PodQOSBestEffort {
		r.CpuShares = minShares
	}
	if allCPU && limCPU > 0 {
		r.CpuQuota = milliCPUToQuota(limCPU)
		r.CpuPeriod = quotaPeriod
	}
	if allMem && limMem > 0 {
		r.Memory = limMem
	}
	r.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(r.CpuShares)
	return r
}

// ensurePodCgroup creates the QoS parents and the pod's cgroup with its resources.
func (r *Runtime) ensurePodCgroup(pod *corev1.Pod, path string) error {
	kubepods := filepath.Join("/", r.cfg.CgroupParent, "kubepods")
	parents := []struct {
		path   string
		shares uint64
	}{{filepath.Join("/", r.cfg.CgroupParent), 0}, {kubepods, 0}}
	switch qosClass(pod) {
	case corev1.PodQOSBurstable:
		parents = append(parents, struct {
			path   string
			shares uint64
		}{filepath.Join(kubepods, "burstable"), 0})
	case corev1.PodQOSBestEffort:
		parents = append(parents, struct {
			path   string
			shares uint64
		}{filepath.Join(kubepods, "besteffort"), minShares})
	}
	for _, p := range parents {
		res := &cgroups.Resources{SkipDevices: true}
		if p.shares > 0 {
			res.CpuShares = p.shares
			res.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(p.shares)
		}
		if err := applyCgroup(p.path, res); err != nil {
			return err
		}
	}
	return applyCgroup(path, podResources(pod))
}

func applyCgroup(path string, res *cgroups.Resources) error {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: res})
	if err != nil {
		return err
	}
	if err := m.Apply(-1); err != nil {
		return fmt.Errorf("create cgroup %s: %w", path, err)
	}
	if err := m.Set(res); err != nil {
		return fmt.Errorf("set cgroup %s: %w", path, err)
	}
	return nil
}

// cgroupDirs returns the directories of the cgroup at path in every hierarchy.
func cgroupDirs(path string) map[string]string {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return nil
	}
	return m.GetPaths()
}

// killCgroup SIGKILLs every process in the cgroup at path and below.
func killCgroup(path string) {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return
	}
	pids, _ := m.GetAllPids()
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// removePodCgroup removes the pod's cgroup and any container cgroup left below it.
func removePodCgroup(path string) error {
	var errs []error
	for _, dir := range cgroupDirs(path) {
		if err := removeCgroupTree(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree removes a cgroup directory and its children, deepest first, retrying while
// dying processes leave it busy.
func removeCgroupTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	var rerr error
	for i := 0; i < 50; i++ {
		rerr = unix.Rmdir(dir)
		if rerr == nil || errors.Is(rerr, unix.ENOENT) {
			return nil
		}
		if !errors.Is(rerr, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, rerr)
}
