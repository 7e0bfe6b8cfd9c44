// Package version tells hoist's version, as set at link time or by the
// module build, and prints it for hoist version.
package version

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/hoist-dev/hoist/internal/fault"
)

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

// Write prints the version to w: text, the version alone, or json, with the
// version of the event API, Go and the platform too.
func Write(w io.Writer, output, eventAPIVersion string) error {
	switch output {
	case "json":
		return json.NewEncoder(w).Encode(map[string]string{
			"version": Version(), "eventApiVersion": eventAPIVersion,
			"go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH})
	case "text", "":
		_, err := fmt.Fprintln(w, Version())
		return err
	}
	return fault.New(fault.UsageInvalid, fmt.Sprintf("--output must be text or json, got %q", output), "see hoist version --help")
}
