// Package linux is skiff's container runtime: it implements kubelet.Runtime with runc's
// libcontainer, through one shim process per pod (internal/shim, cmd/skiff-shim).
//
// The runtime decides and the shim acts. For each pod the runtime creates the sandbox itself:
// the network, UTS and IPC namespaces (unshared on a locked OS thread, which then dies, and
// pinned by bind mounts under <Dir>/pods/<uid>/ns), the pod's /dev/shm (a 64 MiB tmpfs), its
// /etc/hosts, /etc/hostname and /etc/resolv.conf, and its cgroup under the QoS hierarchy; it
// calls PodNetwork.Setup with the pinned network namespace (then SetHostPorts for a pod with
// hostPorts), and starts the pod's shim, detached,
// so that the pod outlives the agent. For each container it mounts the image's root filesystem
// (ImageSource.Rootfs), translates pod, container and image into a libcontainer configuration
// with the pure function containerConfig (through an OCI runtime spec, built as containerd's CRI
// plugin builds it, and runc's specconv), and hands that to the shim, which creates, starts,
// signals, waits for and removes the container, and writes its CRI log.
//
// New re-adopts what an earlier runtime on the same Dir left: every pod's record (pod.json) is
// read, its shim reconnected (or started again, if it died: the new shim re-adopts the running
// containers), and ListContainers then reports the same containers, IDs and PIDs. Nothing is
// restarted. Exits are reported to the handler given to SetEventHandler from each shim's event
// stream.
//
// Upstream messages are kept where users see them: a root image under runAsNonRoot is refused
// with the kubelet's text, as a *kubelet.ConfigError (reported as CreateContainerConfigError).
//
// See docs/runtime.md for the layout on disk and what is honoured of the security context.
package linux
