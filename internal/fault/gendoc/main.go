// Command gendoc writes docs/errors.md from fault's catalog. With -check it
// writes nothing and fails when the file differs from the catalog.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/hoist-dev/hoist/internal/fault"
)

func main() {
	out := flag.String("o", "docs/errors.md", "file to write")
	check := flag.Bool("check", false, "fail when the file is not what the catalog generates")
	flag.Parse()
	var b bytes.Buffer
	if err := fault.WriteDoc(&b); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
	if *check {
		have, err := os.ReadFile(*out)
		if err != nil || !bytes.Equal(have, b.Bytes()) {
			fmt.Fprintf(os.Stderr, "%s is stale: run go generate ./internal/fault and commit the result\n", *out)
			os.Exit(1)
		}
		return
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
