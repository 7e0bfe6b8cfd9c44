// Package view shows a run's events to a person. On a terminal it is a
// live view, redrawn at most ten times a second: one line for each
// artifact being built (its Dockerfile step and how long it has taken),
// for each deploy, resource and sync in progress, above which the lines
// of what is done scroll: built images, the output of a failed step in
// full, deployed objects, ready resources, forwarded ports, syncs and a
// summary of the run. Where the terminal cannot be redrawn (TERM=dumb, CI,
// a file) it is plain appended lines: the text timeline and the summary.
// It is fed by the event bus like every sink, never by reading logs; the
// Model folds the events, Live and Plain write what it shows.
package view

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/term"
)

// The formats of stdout: JSON lines, the human form, or the human form on
// a terminal and JSON lines elsewhere.
const (
	FormatJSON = "json"
	FormatText = "text"
	FormatAuto = "auto"
)

// ChooseFormat resolves format (json, text or auto; empty is auto) for an
// output that is, or is not, a terminal: auto is text on a terminal and
// json elsewhere, as docker and kubectl choose.
func ChooseFormat(format string, terminal bool) (string, error) {
	switch format {
	case FormatJSON, FormatText:
		return format, nil
	case FormatAuto, "":
		if terminal {
			return FormatText, nil
		}
		return FormatJSON, nil
	}
	return "", fmt.Errorf("unknown event format %q: use auto (text on a terminal, json elsewhere), json or text", format)
}

// IsTerminal reports whether w writes to a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// Interactive reports whether a terminal in the environment env (KEY=VALUE
// pairs) can be redrawn: not when TERM is dumb or unset, nor under CI,
// whose log viewers keep every frame.
func Interactive(env []string) bool {
	t := getenv(env, "TERM")
	if t == "" || t == "dumb" {
		return false
	}
	ci := strings.ToLower(getenv(env, "CI"))
	return ci == "" || ci == "false" || ci == "0"
}

// Color is when to color the output: the --color flag.
type Color int

// The values of --color.
const (
	// ColorAuto colors a terminal's output unless NO_COLOR is set or TERM
	// is dumb.
	ColorAuto Color = iota
	ColorAlways
	ColorNever
)

// ParseColor reads --color: auto, always or never. A number is
// Skaffold's --color (the ANSI code of its default color), taken as auto
// so that Skaffold's command lines run unchanged.
func ParseColor(s string) (Color, error) {
	switch strings.ToLower(s) {
	case "auto", "":
		return ColorAuto, nil
	case "always":
		return ColorAlways, nil
	case "never":
		return ColorNever, nil
	}
	if _, err := strconv.Atoi(s); err == nil {
		return ColorAuto, nil
	}
	return 0, fmt.Errorf("unknown --color %q: use auto, always or never", s)
}

// Use reports whether to color an output that is, or is not, a terminal,
// in the environment env: always, never, or (auto) on a terminal unless
// NO_COLOR is set to anything (https://no-color.org) or TERM is dumb.
func (c Color) Use(terminal bool, env []string) bool {
	switch c {
	case ColorAlways:
		return true
	case ColorNever:
		return false
	}
	return terminal && getenv(env, "NO_COLOR") == "" && getenv(env, "TERM") != "dumb"
}

// getenv is the value of key in env, the last one when it is set twice.
func getenv(env []string, key string) string {
	for _, kv := range slices.Backward(env) {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}
