package jsonl_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/jsonl"
)

func TestEventsRequest(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  *pb.EventsRequest
		err   string
	}{
		{"", &pb.EventsRequest{HistoryOnly: true, Filter: &pb.EventFilter{Statuses: []pb.Status{}}}, ""},
		{"run=r1&after=7&follow=true&type=buildEvent,deployEvent&image=a&image=b&status=failed,+SUCCEEDED&level=warn",
			&pb.EventsRequest{RunId: "r1", AfterSequence: 7, Filter: &pb.EventFilter{Types: []string{"buildEvent", "deployEvent"},
				Images: []string{"a", "b"}, Statuses: []pb.Status{pb.Status_FAILED, pb.Status_SUCCEEDED}, MinLevel: "warn"}}, ""},
		{"after=4294967296", nil, `after="4294967296" is not a sequence number`},
		{"after=x", nil, `after="x" is not a sequence number`},
		{"status=done", nil, `status=unknown status "done"`},
	} {
		t.Run(tc.query, func(t *testing.T) { checkParse(t, tc.query, jsonl.EventsRequest, tc.want, tc.err) })
	}
}

// TestEventsQuery checks that EventsRequest reads back what EventsQuery
// writes.
func TestEventsQuery(t *testing.T) {
	for _, req := range []*pb.EventsRequest{
		{HistoryOnly: true, Filter: &pb.EventFilter{Statuses: []pb.Status{}}},
		{RunId: "r1", AfterSequence: 7, Filter: &pb.EventFilter{Types: []string{"buildEvent", "deployEvent"},
			Images: []string{"a", "b"}, Statuses: []pb.Status{pb.Status_FAILED, pb.Status_SUCCEEDED}, MinLevel: "warn"}},
	} {
		q := jsonl.EventsQuery(req)
		got, err := jsonl.EventsRequest(q)
		if err != nil {
			t.Fatalf("EventsRequest(%s): %v", q.Encode(), err)
		}
		if diff := cmp.Diff(req, got, protocmp.Transform()); diff != "" {
			t.Errorf("%s read back (-want +got):\n%s", q.Encode(), diff)
		}
	}
}

func TestFeedRequest(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  *pb.FeedRequest
		err   string
	}{
		{"after=4294967296&run=r1", &pb.FeedRequest{RunId: "r1", AfterCursor: 1 << 32, HistoryOnly: true,
			Filter: &pb.EventFilter{Statuses: []pb.Status{}}}, ""},
		{"follow=1&type=metaEvent", &pb.FeedRequest{Filter: &pb.EventFilter{Types: []string{"metaEvent"}, Statuses: []pb.Status{}}}, ""},
		{"after=-1", nil, `after="-1" is not a cursor`},
		{"status=", &pb.FeedRequest{HistoryOnly: true, Filter: &pb.EventFilter{}}, ""},
		{"status=nope", nil, `status=unknown status "nope"`},
	} {
		t.Run(tc.query, func(t *testing.T) { checkParse(t, tc.query, jsonl.FeedRequest, tc.want, tc.err) })
	}
}

// checkParse parses query with parse and checks the request it reads, or
// that it fails with an error containing wantErr.
func checkParse[M proto.Message](t *testing.T, query string, parse func(url.Values) (M, error), want M, wantErr string) {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parse(q)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got %v, want an error containing %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("parsing %q (-want +got):\n%s", query, d)
	}
}
