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
