package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// baseDir holds one directory per cluster, named by its ID.
var baseDir = filepath.Join(os.TempDir(), "skiff-cluster")

// stateFile, in a cluster's directory, records what the cluster made on the machine, so that
// a later run can remove it if this one is killed.
const stateFile = "state.json"

// state is the content of stateFile.
type state struct {
	OwnerPID   int      `json:"ownerPID"`
	OwnerStart uint64   `json:"ownerStart"` // the owner's start time (/proc/PID/stat field 22)
	Bridge     string   `json:"bridge"`
	Nodes      []string `json:"nodes"` // node names: their cgroups are skiff-<name>
}

func writeState(dir string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, stateFile), b, 0o600)
}

func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// processStart returns the start time of process pid (in clock ticks since boot), or 0 if
// there is no such process.
func processStart(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64) // field 22 overall
	return v
}

// alive reports whether the owner recorded in st still runs.
func (st state) alive() bool {
	return st.OwnerPID > 0 && processStart(st.OwnerPID) == st.OwnerStart
}

// removeLeftovers removes the clusters of earlier runs whose owner is gone. Errors are logged
// through logf; they do not stop this run.
func removeLeftovers(logf func(string, ...any)) {
	entries, err := os.ReadDir(baseDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(baseDir, e.Name())
		st, err := readState(dir)
		if err == nil && st.alive() {
			continue
		}
		if err != nil {
			// A directory without a readable state is one whose creation was cut short, or
			// someone else's: only an old one is removed.
			if fi, serr := os.Stat(dir); serr != nil || time.Since(fi.ModTime()) < time.Hour {
				continue
			}
		}
		logf("removing the leftovers of an earlier cluster run: %s (owner %d gone)", dir, st.OwnerPID)
		if err := teardown(dir, st); err != nil {
			logf("leftovers of %s: %v", dir, err)
		}
	}
}

// teardown removes what the cluster in dir made: its processes (every process whose command
// line names dir: agents, the server, shims), the processes in its nodes' cgroups and the
// cgroups, the mounts under dir, its bridge, and dir.
func teardown(dir string, st state) error {
	var errs []error
	killMentioning(dir + "/")
	for _, node := range st.Nodes {
		if err := removeCgroups("skiff-" + node); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unmountUnder(dir); err != nil {
		errs = append(errs, err)
	}
	if st.Bridge != "" {
		if l, err := netlink.LinkByName(st.Bridge); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("delete bridge %s: %w", st.Bridge, err))
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killMentioning kills (SIGKILL) every process whose command line contains s, and waits a
// moment for them to go.
func killMentioning(s string) {
	self := os.Getpid()
	var killed []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if strings.Contains(string(b), s) {
			if unix.Kill(pid, unix.SIGKILL) == nil {
				killed = append(killed, pid)
			}
		}
	}
	waitGone(killed, 5*time.Second)
}

// waitGone waits until the processes are gone (or zombies), at most d.
func waitGone(pids []int, d time.Duration) {
	deadline := time.Now().Add(d)
	for _, pid := range pids {
		for time.Now().Before(deadline) {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil || strings.Contains(string(b), ") Z ") {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// removeCgroups kills the processes in every cgroup named name (in each hierarchy) and
// below, and removes the cgroups, deepest first. Cgroups are not namespaced: this is how a
// node's containers are found even when its agent is gone.
func removeCgroups(name string) error {
	roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", name))
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", name)); err == nil {
		roots = append(roots, filepath.Join("/sys/fs/cgroup", name))
	}
	var errs []error
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			var pids []int
			b, _ := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && unix.Kill(pid, unix.SIGKILL) == nil {
					pids = append(pids, pid)
				}
			}
			waitGone(pids, 5*time.Second)
			var err error
			for range 100 {
				if err = unix.Rmdir(dirs[i]); err == nil || errors.Is(err, unix.ENOENT) {
					err = nil
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder unmounts every mount point under dir (as this process's mount namespace sees
// them), deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMount(fields[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
