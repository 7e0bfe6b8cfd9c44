package store_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// BenchmarkRuns lists the newest page of 100 runs, and a filtered page,
// from a store of 5000 runs: what the dashboard's runs list asks for on
// every change.
func BenchmarkRuns(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			url := filepath.Join(b.TempDir(), "c.db")
			if backend == "postgres" {
				url = testutil.PostgresDB(b)
			}
			st, err := store.Open(b.Context(), url)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := st.Close(); err != nil {
					b.Errorf("closing the store: %v", err)
				}
			}()
			var recs []store.Record
			for i := range 5000 {
				status := pb.Status_SUCCEEDED
				if i%10 == 0 {
					status = pb.Status_FAILED
				}
				recs = append(recs, runEvents(fmt.Sprintf("run-%05d", i), 3, t0.Add(time.Duration(i)*time.Second), status, fmt.Sprintf("img-%d", i%50))...)
				if len(recs) >= 3000 {
					if _, err := st.Append(b.Context(), recs); err != nil {
						b.Fatal(err)
					}
					recs = recs[:0]
				}
			}
			if _, err := st.Append(b.Context(), recs); err != nil {
				b.Fatal(err)
			}
			for name, q := range map[string]store.RunQuery{
				"newest":           {PageSize: 100},
				"failed-of-image":  {PageSize: 100, Image: "img-10", Statuses: []pb.Status{pb.Status_FAILED}},
				"started-in-range": {PageSize: 100, StartedAfter: t0.Add(time.Hour), StartedBefore: t0.Add(2 * time.Hour)},
			} {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						runs, _, err := st.Runs(b.Context(), q)
						if err != nil || len(runs) == 0 {
							b.Fatalf("%d runs, %v", len(runs), err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkTrends reads the trends the dashboard shows, 20 points of each
// series, from a store of 5000 runs of 10 projects (each building its own
// image, deploying it and checking it; one in ten failing), with no
// filter, by working directory, and by working directory and command.
func BenchmarkTrends(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			url := filepath.Join(b.TempDir(), "c.db")
			if backend == "postgres" {
				url = testutil.PostgresDB(b)
			}
			st, err := store.Open(b.Context(), url)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := st.Close(); err != nil {
					b.Errorf("closing the store: %v", err)
				}
			}()
			var recs []store.Record
			for i := range 5000 {
				project := i % 10
				command := "run"
				if i%3 == 0 {
					command = "dev"
				}
				recs = append(recs, exampleRun{id: fmt.Sprintf("run-%05d", i), dir: fmt.Sprintf("/src/project-%d", project), command: command,
					image: fmt.Sprintf("img-%d", project), start: t0.Add(time.Duration(i) * time.Minute),
					build: time.Duration(i%7+1) * time.Second, fail: i%10 == 3}.records()...)
				if len(recs) >= 3000 {
					if _, err := st.Append(b.Context(), recs); err != nil {
						b.Fatal(err)
					}
					recs = recs[:0]
				}
			}
			if _, err := st.Append(b.Context(), recs); err != nil {
				b.Fatal(err)
			}
			for _, tc := range []struct {
				name   string
				q      store.TrendQuery
				series int
			}{
				{"all", store.TrendQuery{}, 12},
				{"working-dir", store.TrendQuery{WorkingDir: "/src/project-4"}, 3},
				{"working-dir-and-command", store.TrendQuery{WorkingDir: "/src/project-4", Command: "run"}, 3},
			} {
				b.Run(tc.name, func(b *testing.B) {
					for b.Loop() {
						tr, err := st.Trends(b.Context(), tc.q)
						if err != nil || len(tr.Series) != tc.series || len(tr.Series[0].Points) != store.DefaultTrendPoints {
							b.Fatalf("%d series (%v), want %d of %d points", len(tr.Series), err, tc.series, store.DefaultTrendPoints)
						}
					}
				})
			}
		})
	}
}
