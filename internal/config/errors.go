package config

import (
	"fmt"
	"strings"

	"github.com/hoist-dev/hoist/internal/fault"
)

// Error is a problem at one place of a config file.
type Error struct {
	File   string
	Line   int
	Column int
	// Path is where in the document the problem is, such as
	// build.artifacts[0].context.
	Path    string
	Message string
	// Hint is a suggestion, such as the field that was probably meant.
	Hint string
	// Unsupported is set when the field is Skaffold's but not hoist's yet.
	Unsupported bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.located())
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// located is the error without its hint: file:line:column: path: message.
func (e *Error) located() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Column)
	if e.Path != "" {
		fmt.Fprintf(&b, "%s: ", e.Path)
	}
	b.WriteString(e.Message)
	return b.String()
}

func (e *Error) withHint(hint string) *Error {
	e.Hint = hint
	return e
}

// A locator returns an Error at path in the document being checked, such
// as build.artifacts[0].image, with the message format and args.
type locator func(path, format string, args ...any) *Error

// invalid joins errs, in the order found, into the one error the user sees:
// a *fault.Error with code CONFIG_UNSUPPORTED when every problem is a
// Skaffold field hoist does not support yet, CONFIG_INVALID otherwise. Its
// message holds one problem a line (file:line:column: path: message) and
// its suggestions are the hints, each after its problem's file:line:column
// when there are several problems.
func invalid(errs ...*Error) error {
	code := fault.ConfigUnsupport
	lines := make([]string, len(errs))
	var hints []string
	for i, e := range errs {
		if !e.Unsupported {
			code = fault.ConfigInvalid
		}
		lines[i] = e.located()
		switch {
		case e.Hint == "":
		case len(errs) == 1:
			hints = append(hints, e.Hint)
		default:
			hints = append(hints, fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Hint))
		}
	}
	return fault.New(code, strings.Join(lines, "\n"), hints...)
}
