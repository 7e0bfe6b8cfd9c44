package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
)

// TrendKinds are the spans that trends follow across runs: each image's
// builds, each deployer's deploys and each resource's status checks.
var TrendKinds = []timeline.Kind{timeline.Build, timeline.Deploy, timeline.Resource}

// Bounds of a trends query.
const (
	DefaultTrendPoints = 20
	MaxTrendPoints     = 500
	// MaxSeries bounds the series of one answer: those most recently
	// added to.
	MaxSeries = 60
	// maxWorkingDirs bounds the working directories listed for the filter.
	maxWorkingDirs = 50
)

// TrendQuery selects the series of the trends and their points.
type TrendQuery struct {
	// WorkingDir and Command, when set, keep only the runs of that
	// working directory and command.
	WorkingDir, Command string
	// Points is how many of each series' newest points to return; 0
	// means DefaultTrendPoints.
	Points int
}

// Trends are the series of builds, deploys and status checks across runs.
type Trends struct {
	// Series come by kind (as TrendKinds lists them), then by name.
	Series []Series `json:"series"`
	// WorkingDirs are the working directories that runs were started in,
	// the most recent first, to choose a filter from.
	WorkingDirs []string `json:"workingDirs"`
}

// Series is the durations of one kind of span of one name: an image's
// builds, oldest first.
type Series struct {
	Kind   timeline.Kind `json:"kind"`
	Name   string        `json:"name"`
	Points []Point       `json:"points"`
}

// Point is one build, deploy or status check.
type Point struct {
	RunID    string
	Start    time.Time
	Duration time.Duration
	Status   pb.Status
	// Detail is the error code of a failure.
	Detail string
}

// MarshalJSON writes the point with its duration in milliseconds and its
// status by name.
func (p Point) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		RunID      string    `json:"run"`
		Start      time.Time `json:"start"`
		DurationMs float64   `json:"durationMs"`
		Status     string    `json:"status"`
		Detail     string    `json:"detail,omitempty"`
	}{p.RunID, p.Start, float64(p.Duration.Microseconds()) / 1000, p.Status.String(), p.Detail})
}

// Trends returns, for each image, deployer and resource that the
// selected runs built, deployed or checked, its newest points: from the
// spans table through its indexes, a query for the series and one for
// the points of each.
func (s *Store) Trends(ctx context.Context, q TrendQuery) (*Trends, error) {
	n := q.Points
	if n <= 0 {
		n = DefaultTrendPoints
	}
	n = min(n, MaxTrendPoints)
	var where []string
	var args []any
	if q.WorkingDir != "" {
		where, args = append(where, "working_dir = ?"), append(args, q.WorkingDir)
	}
	if q.Command != "" {
		where, args = append(where, "command = ?"), append(args, q.Command)
	}
	filter := strings.Join(append(where, "end_us > 0"), " AND ")
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(TrendKinds)), ", ")
	kinds := make([]any, len(TrendKinds))
	for i, k := range TrendKinds {
		kinds[i] = string(k)
	}
	series := strings.Join(append([]string{"kind IN (" + marks + ")"}, where...), " AND ")
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`
		SELECT kind, name FROM trend_series WHERE `+series+`
		GROUP BY kind, name ORDER BY MAX(last_start_us) DESC LIMIT ?`), append(append(kinds, args...), MaxSeries)...)
	if err != nil {
		return nil, fmt.Errorf("listing the series of the trends: %w", err)
	}
	var out Trends
	for rows.Next() {
		var sr Series
		var kind string
		if err := rows.Scan(&kind, &sr.Name); err != nil {
			_ = rows.Close() // the scan's error is the one to tell
			return nil, err
		}
		sr.Kind = timeline.Kind(kind)
		out.Series = append(out.Series, sr)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Series, func(a, b Series) int {
		if c := slices.Index(TrendKinds, a.Kind) - slices.Index(TrendKinds, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	// Runs that started in the same microsecond keep their ids' order
	// (hoist's run ids grow with time).
	points := s.d.rebind(`SELECT run_id, start_us, end_us, status, detail FROM spans
		WHERE kind = ? AND name = ? AND ` + filter + ` ORDER BY start_us DESC, run_id DESC LIMIT ?`)
	kept := out.Series[:0]
	for _, sr := range out.Series {
		if sr.Points, err = s.points(ctx, points, append(append([]any{string(sr.Kind), sr.Name}, args...), n)); err != nil {
			return nil, fmt.Errorf("reading the trend of %s %s: %w", sr.Kind, sr.Name, err)
		}
		// A series whose runs were all deleted since has no points.
		if len(sr.Points) > 0 {
			kept = append(kept, sr)
		}
	}
	out.Series = kept
	if out.WorkingDirs, err = s.workingDirs(ctx); err != nil {
		return nil, err
	}
	return &out, nil
}

// points reads a series' points, newest first, and returns them oldest
// first.
func (s *Store) points(ctx context.Context, query string, args []any) ([]Point, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	// A read: Close only releases the connection, as in Runs.
	defer func() { _ = rows.Close() }()
	var ps []Point
	for rows.Next() {
		var p Point
		var start, end int64
		var status int32
		if err := rows.Scan(&p.RunID, &start, &end, &status, &p.Detail); err != nil {
			return nil, err
		}
		p.Start, p.Duration, p.Status = fromMicros(start), time.Duration(end-start)*time.Microsecond, pb.Status(status)
		ps = append(ps, p)
	}
	slices.Reverse(ps)
	return ps, rows.Err()
}

// workingDirs lists the working directories of the runs that have points
// in the trends, the most recent first.
func (s *Store) workingDirs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT working_dir FROM trend_series
		GROUP BY working_dir ORDER BY MAX(last_start_us) DESC LIMIT ?`), maxWorkingDirs)
	if err != nil {
		return nil, fmt.Errorf("listing working directories: %w", err)
	}
	// A read: Close only releases the connection, as in Runs.
	defer func() { _ = rows.Close() }()
	dirs := []string{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	return dirs, rows.Err()
}
