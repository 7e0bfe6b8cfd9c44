package filesync

import (
	"path"
	"strings"
)

// Match tells whether name, a slash-separated path relative to the
// artifact's context, matches pattern: path.Match's syntax per segment,
// where a segment "**" matches any number of segments, none included, as
// Skaffold's sync patterns do. A malformed pattern matches nothing (the
// config's validation reports it).
func Match(pattern, name string) bool {
	return matchSegments(strings.Split(path.Clean(pattern), "/"), strings.Split(path.Clean(name), "/"))
}

func matchSegments(pattern, name []string) bool {
	for len(pattern) > 0 {
		if pattern[0] == "**" {
			// Collapse runs of "**", then try every split point.
			for len(pattern) > 0 && pattern[0] == "**" {
				pattern = pattern[1:]
			}
			if len(pattern) == 0 {
				return true
			}
			for i := range len(name) + 1 {
				if matchSegments(pattern, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pattern[0], name[0]); err != nil || !ok {
			return false
		}
		pattern, name = pattern[1:], name[1:]
	}
	return len(name) == 0
}
