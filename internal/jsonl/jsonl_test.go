package jsonl_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/jsonl"
)

// TestWriteSendsEveryLine ends run on a line that said more would follow,
// as a tail does when a run's last event ends a full page: every line
// reaches the response all the same.
func TestWriteSendsEveryLine(t *testing.T) {
	for _, n := range []int{1, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := jsonl.Write(rec, func(send func([]byte, bool) error) error {
				for i := range n {
					if err := send(fmt.Appendf(nil, `{"line":%d}`, i), true); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n")
			if len(lines) != n || lines[n-1] != fmt.Sprintf(`{"line":%d}`, n-1) {
				t.Errorf("%d lines written, the last %q; want %d", len(lines), lines[len(lines)-1], n)
			}
		})
	}
}
