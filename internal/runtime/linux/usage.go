package linux

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"k8s.io/apimachinery/pkg/types"
)

// DiskUsage is what a directory tree holds on its filesystem.
type DiskUsage struct {
	// Bytes counts allocated blocks, as du does; Inodes counts files and directories.
	Bytes, Inodes int64
}

// Add adds u to d.
func (d *DiskUsage) Add(u DiskUsage) {
	d.Bytes += u.Bytes
	d.Inodes += u.Inodes
}

// DirUsage walks dir (not crossing into other filesystems, counting each hard-linked inode
// once) and returns what it holds. A missing dir holds nothing.
func DirUsage(ctx context.Context, dir string) (DiskUsage, error) {
	var u DiskUsage
	root, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return u, nil
	}
	if err != nil {
		return u, err
	}
	dev := root.Sys().(*syscall.Stat_t).Dev
	seen := map[uint64]bool{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Dev != dev {
			if d.IsDir() {
				return filepath.SkipDir // a mount point: another filesystem
			}
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		u.Bytes += st.Blocks * 512
		u.Inodes++
		return nil
	})
	return u, err
}

// ContainerDiskUsage returns, by container name, what the pod's containers hold on the node's
// disk: their writable layers (every attempt the runtime keeps) and their logs. It walks the
// files: the kubelet asks for it only under disk pressure.
func (r *Runtime) ContainerDiskUsage(ctx context.Context, uid types.UID) (map[string]DiskUsage, error) {
	p, err := r.pod(uid)
	if err != nil {
		return nil, err
	}
	ctrs, err := r.ListContainers(ctx, uid)
	if err != nil {
		return nil, err
	}
	out := map[string]DiskUsage{}
	for _, c := range ctrs {
		u, err := DirUsage(ctx, filepath.Join(r.ContainerRootfsDir(uid, c.ID), "upper"))
		if err != nil {
			return nil, err
		}
		sum := out[c.Name]
		sum.Add(u)
		out[c.Name] = sum
	}
	logs := r.podLogDir(p.meta)
	for name := range out {
		u, err := DirUsage(ctx, filepath.Join(logs, name))
		if err != nil {
			return nil, err
		}
		sum := out[name]
		sum.Add(u)
		out[name] = sum
	}
	return out, nil
}

// PodProcesses returns the number of tasks (processes and threads, each holding a PID) in the
// pod's cgroup.
func (r *Runtime) PodProcesses(uid types.UID) (int64, error) {
	p, err := r.pod(uid)
	if err != nil {
		return 0, err
	}
	dirs := cgroupDirs(p.meta.CgroupParent)
	dir, ok := dirs["pids"]
	if !ok {
		dir, ok = dirs[""] // cgroup v2: one hierarchy
	}
	if !ok {
		return 0, errors.New("no pids cgroup")
	}
	b, err := os.ReadFile(filepath.Join(dir, "pids.current"))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
