// Package shim is skiff's per-pod container shim: a small process (cmd/skiff-shim, which imports
// libcontainer and this package only, so it starts in milliseconds) that creates and owns one
// pod's containers. It is their parent, so it sees their exits; it holds their stdout and stderr
// and writes them to CRI log files; it records each container's state in a file so that a
// restarted agent, or a restarted shim, knows what happened while it was gone. The node agent
// (internal/runtime/linux) starts one per pod, detached in its own session, so it outlives the
// agent: killing the agent leaves the shims and their containers running.
//
// # Files in the pod directory
//
//	shim.sock              the API socket
//	shim.pid               the shim's PID
//	shim.log               the shim's own log (its stderr)
//	pidns.pid              the PID of the shared PID namespace's holder (shareProcessNamespace)
//	containers/<id>.json   each container's state record, rewritten on every change
//	runc/<id>/             libcontainer's state
//
// # API
//
// JSON over HTTP/1.1 on the unix socket <pod dir>/shim.sock. Errors are answered with a non-2xx
// status and {"error": "...", "notFound": true|false}; 204 answers carry no body.
//
//	GET    /info                      Info
//	GET    /containers                []State, in creation order
//	POST   /containers                CreateRequest -> State (status "created": recorded only)
//	POST   /containers/{id}/start     make the container (namespaces, cgroup, mounts) and run its
//	                                  first process; a failure leaves it exited with 128,
//	                                  reason StartError and the error as its message, as
//	                                  containerd reports a task that could not start
//	GET    /containers/{id}           State
//	POST   /containers/{id}/stop      StopRequest: the stop signal now, SIGKILL after the grace
//	                                  period; answers at once
//	POST   /containers/{id}/signal    SignalRequest
//	DELETE /containers/{id}           kill if running, remove the cgroup and the record
//	GET    /containers/{id}/stats     Stats from the container's cgroup
//	POST   /containers/{id}/exec      ExecRequest, then the connection is upgraded (see below)
//	POST   /containers/{id}/attach    AttachRequest, then upgraded likewise: the client's stdin
//	                                  frames go to the container's stdin (CreateRequest.Stdin),
//	                                  its output from then on comes back, and FrameExit ends it
//	                                  when the container exits
//	GET    /events                    a stream of Event, one JSON object per line, until the
//	                                  client goes or the shim shuts down
//	POST   /shutdown                  remove every container, then exit
//
// # Exec streams
//
// An exec request carries "Connection: Upgrade" and "Upgrade: skiff-exec". The shim answers
// "101 Switching Protocols" once the process runs, and both sides then exchange frames: one type
// byte, a big-endian uint32 payload length, the payload. The client sends FrameStdin,
// FrameStdinEOF and FrameResize; the shim sends FrameStdout, FrameStderr (not with a terminal)
// and finally FrameExit (the exit code as a big-endian int32) or FrameError (a message). If the
// client's connection closes before the process has exited, the process is killed (an exec
// probe that timed out leaves nothing behind). With a terminal (Tty), the process's pty is made
// by libcontainer's console socket and FrameResize resizes it.
//
// # Exit codes and reasons
//
// A container killed by signal N exits with 128+N. When its memory cgroup counted an OOM kill
// (cgroup v1 memory.oom_control's oom_kill, v2 memory.events' oom_kill) the reason is OOMKilled
// (the exit code is the real one: 137 when the first process was the victim); otherwise it is
// Completed for 0 and Error for any other code. A container whose exit the shim could not see
// (a restarted shim is not its parent) exits with 255, reason Unknown, unless its cgroup shows an
// OOM kill (137, OOMKilled).
//
// # Logs
//
// Each container attempt writes one CRI log file, given by the agent
// (<pod logs>/<container>/<attempt>.log), with lines
//
//	2026-11-26T10:00:00.123456789Z stdout F message
//
// (P for a piece of a line longer than 16 KiB). When the file passes its maximum size it is
// renamed <attempt>.log.<YYYYMMDD-HHMMSS> (as the kubelet's rotation names them; -1, -2... are
// appended if a second rotation falls in the same second) and a new file started; only the
// newest LogMaxFiles files, the current one included, are kept. Rotated files are not
// compressed.
//
// # Shared PID namespace
//
// For shareProcessNamespace the shim is started with --share-pid: it starts "skiff-shim
// pidns-init" in a new PID namespace, a process that only reaps orphans, and the agent makes
// every container of the pod join that namespace (/proc/<pidns.pid>/ns/pid). It is the pod's
// PID 1, as the pause container is upstream. A restarted shim finds it again through pidns.pid.
//
// # Restarts
//
// A restarted shim reads the records: containers that had exited stay so; running ones are
// re-adopted (watched through a pidfd until they exit; their output pipes went with the old
// shim, so they log no more); created ones, which have no process yet, can still be started; one
// caught between being made and started is killed, as its output has nowhere to go.
package shim
