package fault

import (
	"fmt"
	"io"
	"strings"
)

// exitMeanings names each exit code for docs/errors.md.
var exitMeanings = []struct {
	code    int
	meaning string
}{
	{ExitOK, "the command did what it was asked"},
	{ExitInternal, "an error hoist did not classify (a bug: please report it), or the system refused what hoist needs (file notifications)"},
	{ExitConfig, "the config file or the command line is wrong"},
	{ExitBuild, "a build failed"},
	{ExitDeploy, "a deploy failed"},
	{ExitStatus, "a status check failed"},
	{ExitEvents, "events could not be read, written, served or stored"},
	{ExitTest, "a test failed"},
	{ExitCanceled, "the command was interrupted"},
}

// WriteDoc writes the catalog as the Markdown of docs/errors.md.
func WriteDoc(w io.Writer) error {
	var b strings.Builder
	b.WriteString("<!-- Generated from internal/fault/catalog.go by `go generate ./internal/fault`. Do not edit. -->\n\n")
	b.WriteString("# Error codes\n\n")
	b.WriteString("Every error hoist reports carries a stable code: in the `error.code` of a\n")
	b.WriteString("failed event, and in brackets on stderr (`error [CODE]: ...`). Each code\n")
	b.WriteString("ends a command with one exit code, so scripts can branch on either.\n\n")
	b.WriteString("## Exit codes\n\n| exit | meaning |\n|---|---|\n")
	for _, e := range exitMeanings {
		fmt.Fprintf(&b, "| %d | %s |\n", e.code, e.meaning)
	}
	b.WriteString("\n## Codes\n\n| code | exit | meaning | what to do |\n|---|---|---|---|\n")
	for _, e := range Catalog {
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", e.Code, e.Exit, escape(e.Meaning), escape(e.Action))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
