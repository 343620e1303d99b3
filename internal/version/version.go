// Package version reports skiff's version and the Kubernetes API version it serves.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	apimachineryversion "k8s.io/apimachinery/pkg/version"
)

// Skiff is skiff's own version; release builds set it with -ldflags -X.
var Skiff = "v0.1.0-dev"

// The Kubernetes version skiff serves: the minor of the vendored k8s.io/api (v0.37 is 1.37).
const (
	KubeMajor = "1"
	KubeMinor = "37"
	KubePatch = "2"
)

// Info is what /version returns.
func Info() apimachineryversion.Info {
	commit := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	return apimachineryversion.Info{
		Major:        KubeMajor,
		Minor:        KubeMinor,
		GitVersion:   fmt.Sprintf("v%s.%s.%s+skiff", KubeMajor, KubeMinor, KubePatch),
		GitCommit:    commit,
		GitTreeState: "clean",
		BuildDate:    "",
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}
