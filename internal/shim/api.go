package shim

import (
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
)

// SocketName is the name of the shim's API socket in the pod directory.
const SocketName = "shim.sock"

// Status is a container's status in the shim.
type Status string

// Container statuses.
const (
	StatusCreated Status = "created"
	StatusRunning Status = "running"
	StatusExited  Status = "exited"
)

// Exit reasons, as the kubelet reports them.
const (
	ReasonCompleted = "Completed"
	ReasonError     = "Error"
	ReasonOOMKilled = "OOMKilled"
	// ReasonUnknown is given to a container whose exit the shim did not see (it was restarted
	// while the container ran, so it was not the container's parent any more); the exit code is
	// then 255, as containerd reports.
	ReasonUnknown = "Unknown"
)

// Process is how a container's first process, or an exec'd process, runs.
type Process struct {
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
	Cwd  string   `json:"cwd,omitempty"`
	UID  int      `json:"uid"`
	GID  int      `json:"gid"`
	// AdditionalGids are the supplementary groups (fsGroup, supplementalGroups, the user's
	// groups from the image's /etc/group).
	AdditionalGids []int `json:"additionalGids,omitempty"`
	// Capabilities, if set, override the container's.
	Capabilities    *configs.Capabilities `json:"capabilities,omitempty"`
	NoNewPrivileges bool                  `json:"noNewPrivileges,omitempty"`
	Rlimits         []configs.Rlimit      `json:"rlimits,omitempty"`
}

// CreateRequest creates a container.
type CreateRequest struct {
	ID string `json:"id"`
	// Name and Attempt are the kubelet's, kept with the state so that a restarted agent knows
	// which container of the pod this is.
	Name    string `json:"name"`
	Attempt int32  `json:"attempt"`
	// Labels are kept with the state and given back as they are (the agent's bookkeeping:
	// image, image ID).
	Labels  map[string]string `json:"labels,omitempty"`
	Config  *configs.Config   `json:"config"`
	Process Process           `json:"process"`
	// LogPath is the CRI log file of this attempt; LogMaxSize (bytes) and LogMaxFiles govern its
	// rotation (0: 10 MiB and 5 files, as the kubelet's defaults).
	LogPath     string `json:"logPath"`
	LogMaxSize  int64  `json:"logMaxSize,omitempty"`
	LogMaxFiles int    `json:"logMaxFiles,omitempty"`
	// Stdin keeps the container's standard input open, as a pipe attach sessions write to;
	// StdinOnce closes it when the first attach session that sent input ends. Tty gives the
	// first process a terminal (its stdin, stdout and stderr), whose output is logged as
	// stdout. They are the container spec's stdin, stdinOnce and tty.
	Stdin     bool `json:"stdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty"`
	Tty       bool `json:"tty,omitempty"`
	// StopSignal is the image's STOPSIGNAL ("SIGQUIT", "QUIT" or "3"); empty means SIGTERM.
	StopSignal string `json:"stopSignal,omitempty"`
}

// State is a container's state.
type State struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Attempt  int32             `json:"attempt"`
	Labels   map[string]string `json:"labels,omitempty"`
	Status   Status            `json:"status"`
	Pid      int               `json:"pid,omitempty"`
	Created  time.Time         `json:"created"`
	Started  time.Time         `json:"started,omitzero"`
	Finished time.Time         `json:"finished,omitzero"`
	ExitCode int32             `json:"exitCode"`
	// OOMKilled is set when the container's memory cgroup saw an OOM kill.
	OOMKilled bool   `json:"oomKilled,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Message tells why a container failed to start.
	Message string `json:"message,omitempty"`
	LogPath string `json:"logPath"`
}

// StopRequest asks a container to stop: its stop signal (or Signal, if set) now, SIGKILL once
// Grace has passed.
type StopRequest struct {
	Signal string        `json:"signal,omitempty"`
	Grace  time.Duration `json:"grace"`
}

// SignalRequest sends one signal to a container's first process.
type SignalRequest struct {
	Signal string `json:"signal"`
}

// ExecRequest runs a process in a running container, as the container's own process runs (its
// user, groups, capabilities, working directory and environment, to which Env adds). Stdin tells
// whether the client sends standard input; without it the process reads /dev/null. Tty gives the
// process a terminal, of Width x Height.
type ExecRequest struct {
	Args   []string `json:"args"`
	Env    []string `json:"env,omitempty"`
	Tty    bool     `json:"tty,omitempty"`
	Stdin  bool     `json:"stdin,omitempty"`
	Width  uint16   `json:"width,omitempty"`
	Height uint16   `json:"height,omitempty"`
}

// Stats is a container's resource usage, from its cgroup.
type Stats struct {
	ID string `json:"id"`
	// Time is when the numbers were read.
	Time time.Time `json:"time"`
	// CPUUsageNs is the cumulative CPU time of every process of the container.
	CPUUsageNs uint64 `json:"cpuUsageNs"`
	// MemoryUsage is the cgroup's memory usage; MemoryWorkingSet is that less inactive file
	// pages, as the kubelet computes it.
	MemoryUsage      uint64 `json:"memoryUsage"`
	MemoryWorkingSet uint64 `json:"memoryWorkingSet"`
}

// Event tells that a container changed state.
type Event struct {
	ID     string    `json:"id"`
	Status Status    `json:"status"`
	Time   time.Time `json:"time"`
}

// Info describes the shim itself.
type Info struct {
	Pid int `json:"pid"`
	// PidnsPid is the host PID of the process that holds the pod's shared PID namespace, or 0.
	PidnsPid int `json:"pidnsPid,omitempty"`
}
