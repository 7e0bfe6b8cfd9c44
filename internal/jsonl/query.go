package jsonl

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// EventsRequest reads an Events request from URL query parameters: run,
// after (a sequence), follow, and the filter's type, image, status and
// level. Lists repeat or use commas.
func EventsRequest(q url.Values) (*pb.EventsRequest, error) {
	after, err := after(q, 32, "a sequence number")
	if err != nil {
		return nil, err
	}
	filter, err := filterOf(q)
	if err != nil {
		return nil, err
	}
	return &pb.EventsRequest{RunId: q.Get("run"), AfterSequence: uint32(after), HistoryOnly: !follow(q), Filter: filter}, nil
}

// EventsQuery is req as the query parameters EventsRequest reads.
func EventsQuery(req *pb.EventsRequest) url.Values {
	q := url.Values{}
	if req.GetRunId() != "" {
		q.Set("run", req.GetRunId())
	}
	if req.GetAfterSequence() > 0 {
		q.Set("after", strconv.FormatUint(uint64(req.GetAfterSequence()), 10))
	}
	if !req.GetHistoryOnly() {
		q.Set("follow", "true")
	}
	f := req.GetFilter()
	for _, t := range f.GetTypes() {
		q.Add("type", t)
	}
	for _, i := range f.GetImages() {
		q.Add("image", i)
	}
	for _, s := range f.GetStatuses() {
		q.Add("status", s.String())
	}
	if f.GetMinLevel() != "" {
		q.Set("level", f.GetMinLevel())
	}
	return q
}

// FeedRequest reads a collector's Feed request from the same parameters
// as EventsRequest, with after a cursor.
func FeedRequest(q url.Values) (*pb.FeedRequest, error) {
	after, err := after(q, 64, "a cursor")
	if err != nil {
		return nil, err
	}
	filter, err := filterOf(q)
	if err != nil {
		return nil, err
	}
	return &pb.FeedRequest{RunId: q.Get("run"), AfterCursor: after, HistoryOnly: !follow(q), Filter: filter}, nil
}

// ParseStatuses reads status query values (IN_PROGRESS, succeeded, ...),
// refusing any other, empty included, with what to give instead.
func ParseStatuses(values []string) ([]pb.Status, error) {
	out, err := event.ParseStatuses(values)
	if err != nil {
		return nil, fmt.Errorf("status=%w", err)
	}
	return out, nil
}

func after(q url.Values, bits int, what string) (uint64, error) {
	v := q.Get("after")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("after=%q is not %s", v, what)
	}
	return n, nil
}

func follow(q url.Values) bool {
	v, _ := strconv.ParseBool(q.Get("follow"))
	return v
}

func filterOf(q url.Values) (*pb.EventFilter, error) {
	statuses, err := ParseStatuses(list(q, "status"))
	if err != nil {
		return nil, err
	}
	return &pb.EventFilter{Types: list(q, "type"), Images: list(q, "image"), Statuses: statuses, MinLevel: q.Get("level")}, nil
}

// list reads a parameter that repeats or separates its values with commas.
func list(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
