// Command skiff-shim is the per-pod shim of skiff's container runtime, and libcontainer's init
// (its "init" argument). The node agent starts one per pod; see internal/shim.
package main

import (
	"os"

	_ "github.com/opencontainers/cgroups/devices" // the device cgroup controller, for v1 and v2
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/skiff-project/skiff/internal/shim"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// libcontainer's nsenter has already run (a C constructor); this never returns.
		libcontainer.Init()
	}
}

func main() {
	os.Exit(shim.Main(os.Args[1:]))
}
