// Package fault defines the errors a user sees: each carries a stable code,
// a message and suggestions for what to do. The Catalog gives each code the
// exit code of the command it ends, its meaning and what to do, and
// docs/errors.md is generated from it. Code deep in the pipeline wraps what
// it knows; main finds the fault with errors.As and never matches strings.
package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Error is an error a user can act on.
type Error struct {
	Code        Code
	Message     string
	Suggestions []string
	// Err is the underlying cause, if any.
	Err error
}

// New returns an Error with the given code and message. Empty suggestions
// are dropped.
func New(code Code, message string, suggestions ...string) *Error {
	return &Error{Code: code, Message: message, Suggestions: nonEmpty(suggestions)}
}

// Wrap returns an Error whose message is message and whose cause is err.
func Wrap(err error, code Code, message string, suggestions ...string) *Error {
	return &Error{Code: code, Message: message, Suggestions: nonEmpty(suggestions), Err: err}
}

func nonEmpty(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// Exit is the exit code of a command that e ends, from the catalog.
func (e *Error) Exit() int { return ExitOf(e.Code) }

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var f *Error
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// CodeOf returns the code of the first *Error in err's chain, or Unknown.
func CodeOf(err error) Code {
	if f := As(err); f != nil {
		return f.Code
	}
	return Unknown
}

// ExitCode returns the exit code a command ending with err should return.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if f := As(err); f != nil {
		return f.Exit()
	}
	if errors.Is(err, context.Canceled) {
		return ExitCanceled
	}
	return ExitInternal
}

// Format renders err for a terminal: the message, then each suggestion on
// its own line.
func Format(err error) string {
	var b strings.Builder
	f := As(err)
	if f == nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "error [%s]: %v\n", f.Code, err)
	for _, s := range f.Suggestions {
		if strings.TrimSpace(s) == "" {
			continue
		}
		fmt.Fprintf(&b, "  hint: %s\n", s)
	}
	return b.String()
}
