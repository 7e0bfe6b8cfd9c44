package event

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// Filter selects events; an empty field selects everything.
type Filter struct {
	// Types are payload JSON names such as "buildEvent".
	Types []string
	// Images selects the build events of these images; other payloads pass.
	Images   []string
	Statuses []pb.Status
	MinLevel slog.Level
}

// FilterFrom checks and converts the Event API's filter.
func FilterFrom(f *pb.EventFilter) (Filter, error) {
	out := Filter{MinLevel: slog.LevelDebug}
	if f == nil {
		return out, nil
	}
	for _, t := range f.Types {
		if !validType(t) {
			return out, fmt.Errorf("unknown event type %q: use one of %s", t, strings.Join(PayloadTypes, ", "))
		}
	}
	for _, s := range f.Statuses {
		if s == pb.Status_STATUS_UNSPECIFIED || pb.Status_name[int32(s)] == "" {
			return out, fmt.Errorf("unknown status %v: use one of %s", s, strings.Join(Statuses, ", "))
		}
	}
	out.Types, out.Images, out.Statuses = f.Types, f.Images, f.Statuses
	if f.MinLevel != "" {
		lvl, err := ParseLevel(f.MinLevel)
		if err != nil {
			return out, err
		}
		out.MinLevel = lvl
	}
	return out, nil
}

// All reports whether the filter selects every event. No event is below
// info (see LevelOf), so a minimum level of info selects them all.
func (f Filter) All() bool {
	return len(f.Types)+len(f.Images)+len(f.Statuses) == 0 && f.MinLevel <= slog.LevelInfo
}

// Match reports whether the filter selects ev.
func (f Filter) Match(ev *pb.Event) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, TypeOf(ev)) {
		return false
	}
	if be := ev.GetBuildEvent(); be != nil && len(f.Images) > 0 && !slices.Contains(f.Images, be.Image) {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, StatusOf(ev)) {
		return false
	}
	return LevelOf(ev) >= f.MinLevel
}
