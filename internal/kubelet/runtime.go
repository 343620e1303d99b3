package kubelet

import (
	"context"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Runtime runs pods' sandboxes and containers. The kubelet owns this interface; the real runtime
// (libcontainer and the shim) and the fake one (internal/runtime/fake) implement it.
//
// Calls for one pod are never concurrent (the pod's worker makes them); calls for different pods
// are. Stopping is asynchronous: StopContainer asks the container to stop and guarantees that it
// has exited once the grace period has passed; the runtime reports the exit through the handler
// given to SetEventHandler, as it reports every state change it originates (a container exiting on
// its own). The handler may be told of a change ahead of time (at > now), as the fake runtime does
// for its scripted exits.
type Runtime interface {
	// SetEventHandler registers the function told that pod uid's containers change at time at.
	SetEventHandler(h func(uid types.UID, at time.Time))

	// CreateSandbox creates the pod's sandbox (namespaces, network) and returns its IPs, from
	// podCIDRs.
	CreateSandbox(ctx context.Context, pod *corev1.Pod, podCIDRs []string) (Sandbox, error)
	// RemoveSandbox removes the pod's sandbox and every container in it.
	RemoveSandbox(ctx context.Context, uid types.UID) error

	// ImagePresent reports whether the image is in the node's store.
	ImagePresent(ctx context.Context, image string) (bool, error)
	// PullImage pulls the image and returns its size in bytes.
	PullImage(ctx context.Context, image string, pullSecrets []corev1.Secret) (int64, error)

	// CreateContainer creates a container of pod (attempt counts restarts from 0) and returns its
	// ID; init is true for pod.Spec.InitContainers.
	CreateContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, init bool, attempt int32) (string, error)
	StartContainer(ctx context.Context, uid types.UID, id string) error
	// StopContainer asks the container to stop, sending SIGKILL once grace has passed.
	StopContainer(ctx context.Context, uid types.UID, id string, grace time.Duration) error
	RemoveContainer(ctx context.Context, uid types.UID, id string) error
	// ListContainers returns the pod's containers, in creation order.
	ListContainers(ctx context.Context, uid types.UID) ([]Container, error)

	// Exec runs cmd in the container; exec probes use it.
	Exec(ctx context.Context, uid types.UID, id string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) (exitCode int, err error)
	// Logs writes the container's log from since on.
	Logs(ctx context.Context, uid types.UID, id string, since time.Time, w io.Writer) error
	// PortForward connects stream to port in the pod's network namespace.
	PortForward(ctx context.Context, uid types.UID, port int32, stream io.ReadWriteCloser) error
	// Stats returns the pod's resource usage.
	Stats(ctx context.Context, uid types.UID) (PodStats, error)
}

// SandboxStopper is implemented by runtimes that can end a finished pod's sandbox (its
// processes, network, cgroup and namespaces) while keeping its exited containers, which
// ListContainers and the logs go on reporting, until RemoveSandbox, as upstream's dead
// containers stay until the pod is deleted. StopSandbox is idempotent and does nothing for a
// pod without a running sandbox. Without it, a finished pod's sandbox is removed at once.
type SandboxStopper interface {
	StopSandbox(ctx context.Context, uid types.UID) error
}

// ConfigError is a CreateContainer error caused by the pod's or the container's configuration
// (runAsNonRoot with a root image, a missing volume, a forbidden sysctl); the kubelet reports it
// with the reason CreateContainerConfigError and its message unchanged.
type ConfigError struct {
	Err error
}

func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// ProbeSimulator is implemented by runtimes that answer every probe themselves (the fake
// runtime); the kubelet then runs no HTTP, TCP or gRPC probe over the network.
type ProbeSimulator interface {
	// SimulateProbe returns whether the probe of kind ("Liveness", "Readiness", "Startup") of the
	// container succeeds, and the output reported when it fails.
	SimulateProbe(uid types.UID, id string, kind string) (ok bool, output string)
}

// Sandbox is a created pod sandbox.
type Sandbox struct {
	IPs []string
}

// ContainerState is a container's state in the runtime.
type ContainerState int

// Container states.
const (
	ContainerCreated ContainerState = iota
	ContainerRunning
	ContainerExited
)

// Container is one container as the runtime sees it.
type Container struct {
	ID      string
	Name    string
	Attempt int32
	Image   string
	ImageID string
	State   ContainerState
	// CreatedAt, StartedAt and FinishedAt are set as the container reaches each state.
	CreatedAt, StartedAt, FinishedAt time.Time
	ExitCode                         int32
	// Reason is the runtime's word for how it exited ("Completed", "Error", "OOMKilled").
	Reason string
}

// PodStats is a pod's resource usage.
type PodStats struct {
	Time       time.Time
	Containers []ContainerStats
}

// ContainerStats is a container's resource usage.
type ContainerStats struct {
	Name                string
	CPUUsageNanoCores   uint64
	CPUUsageCoreNanoSec uint64
	MemoryWorkingSet    uint64
}
