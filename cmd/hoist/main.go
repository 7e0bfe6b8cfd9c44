// Command hoist builds container images, deploys them to Kubernetes and
// reports every step as a typed, ordered event stream.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hoist-dev/hoist/internal/cli"
	"github.com/hoist-dev/hoist/internal/fault"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.NewRoot(cli.StdStreams()).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprint(os.Stderr, fault.Format(err))
	}
	os.Exit(fault.ExitCode(err))
}
