// Command hoist-render is hoist's companion program for kustomize and
// Helm. hoist starts it with one JSON request on its standard input and
// reads the answer from its standard output; it is not meant to be run by
// hand. See package render for why it is a program of its own.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hoist-dev/hoist/internal/render"
	"github.com/hoist-dev/hoist/internal/render/engine"
	"github.com/hoist-dev/hoist/internal/version"
)

func main() {
	if len(os.Args) > 1 {
		if os.Args[1] == "version" || os.Args[1] == "--version" {
			fmt.Println(render.Program, version.Version())
			return
		}
		fmt.Fprintf(os.Stderr, "%s takes one JSON request on its standard input from hoist; it has no commands\n", render.Program)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := engine.Serve(ctx, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", render.Program, err)
		os.Exit(1)
	}
}
