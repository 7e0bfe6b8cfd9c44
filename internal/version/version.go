// Package version tells hoist's version.
package version

import "runtime/debug"

// version is set at link time: -X github.com/hoist-dev/hoist/internal/version.version=v1.2.3
var version string

// Version returns hoist's version: the one set at link time, else the
// module version of the build, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
