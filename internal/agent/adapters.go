package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/network/podnet"
	"github.com/skiff-project/skiff/internal/runtime/image"
	"github.com/skiff-project/skiff/internal/runtime/linux"
)

// imageSource adapts the node's image store to the runtime: each container's root filesystem
// holds a Use of its image until it is released, so that neither GC nor `skiff image rm`
// takes an image a container runs.
type imageSource struct {
	store *image.Store

	mu   sync.Mutex
	uses map[string]func() // container directory -> release of its image's Use
}

var (
	_ linux.ImageSource    = (*imageSource)(nil)
	_ linux.RootfsReleaser = (*imageSource)(nil)
)

func newImageSource(store *image.Store) *imageSource {
	return &imageSource{store: store, uses: map[string]func(){}}
}

func imageInfo(img image.Image) linux.ImageInfo {
	c := img.Config
	return linux.ImageInfo{ID: img.ID, Size: img.Size, Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env,
		User: c.User, WorkingDir: c.WorkingDir, StopSignal: c.StopSignal}
}

// Present reports whether the image is in the store.
func (s *imageSource) Present(ctx context.Context, ref string) (bool, error) {
	_, ok := s.store.Get(ref)
	return ok, nil
}

// Pull pulls the image with the pod's pull secrets.
func (s *imageSource) Pull(ctx context.Context, ref string, secrets []corev1.Secret) (linux.ImageInfo, error) {
	img, err := s.store.Pull(ctx, ref, image.PullOptions{Secrets: secrets})
	if err != nil {
		return linux.ImageInfo{}, err
	}
	return imageInfo(img), nil
}

// Rootfs marks the image used and mounts a root filesystem of it in dir.
func (s *imageSource) Rootfs(ctx context.Context, ref, dir string) (string, linux.ImageInfo, func() error, error) {
	img, ok := s.store.Get(ref)
	if !ok {
		return "", linux.ImageInfo{}, nil, fmt.Errorf("image %s: %w", ref, image.ErrNotFound)
	}
	release := s.store.Use(img.ID)
	rootfs, err := s.store.Rootfs(ctx, img, dir)
	if err != nil {
		release()
		return "", linux.ImageInfo{}, nil, err
	}
	s.mu.Lock()
	s.uses[dir] = release
	s.mu.Unlock()
	return rootfs, imageInfo(img), func() error { return s.ReleaseRootfs(dir) }, nil
}

// ReleaseRootfs unmounts the root filesystem in dir and ends its Use of the image.
func (s *imageSource) ReleaseRootfs(dir string) error {
	err := s.store.ReleaseRootfs(dir)
	s.mu.Lock()
	release := s.uses[dir]
	delete(s.uses, dir)
	s.mu.Unlock()
	if release != nil {
		release()
	}
	return err
}

// adopt marks imageID used by the container whose root filesystem is in dir, for a container
// found after a restart (use counts live in memory).
func (s *imageSource) adopt(dir, imageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.uses[dir]; ok || imageID == "" {
		return
	}
	s.uses[dir] = s.store.Use(imageID)
}

// podNetwork adapts the node's pod network to the runtime. The network exists only once the
// Node has a podCIDR; until then Setup and Teardown wait for it.
type podNetwork struct {
	ready chan struct{}
	once  sync.Once
	net   *podnet.Network
}

var _ linux.PodNetwork = (*podNetwork)(nil)

// networkWait bounds how long a pod's network set-up waits for the node's pod network.
const networkWait = 30 * time.Second

var errNetworkNotReady = errors.New("network is not ready: the node has no podCIDR yet")

func newPodNetwork() *podNetwork { return &podNetwork{ready: make(chan struct{})} }

// set makes n the node's network; Setup and Teardown proceed from now on.
func (p *podNetwork) set(n *podnet.Network) {
	p.once.Do(func() {
		p.net = n
		close(p.ready)
	})
}

// check is the kubelet's ReadyCheck: the node is not ready without its pod network.
func (p *podNetwork) check() error {
	select {
	case <-p.ready:
		return nil
	default:
		return fmt.Errorf("container runtime network not ready: %w", errNetworkNotReady)
	}
}

func (p *podNetwork) wait(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	default:
	}
	t := time.NewTimer(networkWait)
	defer t.Stop()
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errNetworkNotReady
	}
}

// Setup connects a pod's network namespace.
func (p *podNetwork) Setup(ctx context.Context, podUID, netnsPath string) ([]string, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	return p.net.Setup(ctx, podUID, netnsPath)
}

// SetHostPorts publishes a pod's hostPorts.
func (p *podNetwork) SetHostPorts(ctx context.Context, podUID string, ports []linux.HostPort) error {
	if err := p.wait(ctx); err != nil {
		return err
	}
	ms := make([]podnet.HostPortMapping, len(ports))
	for i, hp := range ports {
		ms[i] = podnet.HostPortMapping{Protocol: string(hp.Protocol), HostIP: hp.HostIP, HostPort: hp.HostPort, ContainerPort: hp.ContainerPort}
	}
	return p.net.SetHostPorts(ctx, podUID, ms)
}

// Teardown disconnects it.
func (p *podNetwork) Teardown(ctx context.Context, podUID, netnsPath string) error {
	if err := p.wait(ctx); err != nil {
		return err
	}
	return p.net.Teardown(ctx, podUID, netnsPath)
}
