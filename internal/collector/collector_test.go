package collector_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/collector"
	"github.com/hoist-dev/hoist/internal/collector/query"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// serve starts a collector of the store at url on a loopback port and
// returns its address.
func serve(t testing.TB, url string, o collector.Options) string {
	t.Helper()
	st, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- collector.New(st, o).Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return ln.Addr().String()
}

// pushRun publishes n events of a build run on a bus and pushes them to
// addr, returning the run's JSON lines as its event log file has them.
func pushRun(t testing.TB, addr, token string, n int) (string, []string) {
	t.Helper()
	evs := []*pb.Event{{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build", Artifacts: []string{"app"}}}}}
	for i := range n - 2 {
		evs = append(evs, &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS, Log: fmt.Sprintf("line %d", i)}}})
	}
	evs = append(evs, &pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}}})
	return pushEvents(t, addr, token, evs)
}

// pushEvents publishes events on a bus and pushes them to addr with
// hoist's pusher, returning the run id and the events' JSON lines.
func pushEvents(t testing.TB, addr, token string, evs []*pb.Event) (string, []string) {
	t.Helper()
	bus := testutil.NewBus(t)
	p, err := rpc.NewPusher(bus, rpc.ClientOptions{Address: addr, Token: token}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go p.Run(ctx)
	var lines []string
	for _, ev := range evs {
		js, err := event.MarshalJSON(bus.Publish(ev))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(js))
	}
	bus.End()
	if left := p.Flush(ctx, 30*time.Second); left != 0 {
		t.Fatalf("%d events not acknowledged: %v", left, p.LastError())
	}
	return bus.RunID(), lines
}

func httpLines(t testing.TB, url, token string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := resp.Body.Close(); err != nil {
			t.Error(err)
		}
	}()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("GET %s: reading the lines: %v", url, err)
	}
	return out
}

func TestPushStoreAndServe(t *testing.T) {
	testutil.Backends(t, func(t *testing.T, url string) {
		addr := serve(t, url, collector.Options{})
		id, lines := pushRun(t, addr, "", 500)
		got := httpLines(t, "http://"+addr+rpc.EventsPath+"?run="+id, "")
		if strings.Join(got, "\n") != strings.Join(lines, "\n") {
			t.Fatalf("stored events differ from the pushed ones: %d lines, want %d", len(got), len(lines))
		}
		hc := &http.Client{}
		base := "http://" + addr
		cc := hoistv1alpha2connect.NewCollectorServiceClient(hc, base)
		runs, err := cc.ListRuns(t.Context(), connect.NewRequest(&pb.ListRunsRequest{Image: "app"}))
		if err != nil {
			t.Fatal(err)
		}
		if len(runs.Msg.Runs) != 1 || runs.Msg.Runs[0].EventId != id || runs.Msg.Runs[0].Status != pb.Status_SUCCEEDED {
			t.Fatalf("ListRuns: %v", runs.Msg)
		}
		run, err := cc.GetRun(t.Context(), connect.NewRequest(&pb.GetRunRequest{EventId: id}))
		if err != nil {
			t.Fatal(err)
		}
		if run.Msg.State.GetStatus() != pb.Status_SUCCEEDED || run.Msg.LastSequence != 500 || len(run.Msg.State.Artifacts) != 1 {
			t.Fatalf("GetRun: %v", run.Msg)
		}
		if _, err := cc.GetRun(t.Context(), connect.NewRequest(&pb.GetRunRequest{EventId: "nope"})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("GetRun of an unknown run: %v", err)
		}
		// The Event API, as hoist events uses it, over gRPC.
		ec := hoistv1alpha2connect.NewEventServiceClient(hc, base, connect.WithGRPC())
		stream, err := ec.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{RunId: id, AfterSequence: 490}))
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint32
		for stream.Receive() {
			seqs = append(seqs, stream.Msg().Event.Sequence)
		}
		if stream.Err() != nil || len(seqs) != 10 || seqs[0] != 491 {
			t.Fatalf("Events after 490: %v, %v", seqs, stream.Err())
		}
		// The feed resumes after a cursor.
		feed, err := cc.Feed(t.Context(), connect.NewRequest(&pb.FeedRequest{HistoryOnly: true}))
		if err != nil {
			t.Fatal(err)
		}
		var cursors []uint64
		for feed.Receive() {
			cursors = append(cursors, feed.Msg().Cursor)
		}
		if feed.Err() != nil || len(cursors) != 500 {
			t.Fatalf("feed: %d items, %v", len(cursors), feed.Err())
		}
		tail := httpLines(t, fmt.Sprintf("%s%s?after=%d", base, query.FeedPath, cursors[497]), "")
		if len(tail) != 2 || !strings.Contains(tail[1], `"terminationEvent"`) || !strings.HasPrefix(tail[0], fmt.Sprintf(`{"cursor":"%d"`, cursors[498])) {
			t.Fatalf("feed after the 498th cursor: %v", tail)
		}
	})
}

// TestLiveAcrossCollectors has two collectors share one PostgreSQL
// database: a subscriber of one sees, live, a run pushed to the other.
func TestLiveAcrossCollectors(t *testing.T) {
	url := testutil.PostgresDB(t)
	a, b := serve(t, url, collector.Options{}), serve(t, url, collector.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cc := hoistv1alpha2connect.NewCollectorServiceClient(http.DefaultClient, "http://"+b)
	feed, err := cc.Feed(ctx, connect.NewRequest(&pb.FeedRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int)
	go func() {
		n := 0
		for feed.Receive() {
			if n++; feed.Msg().Envelope.Event.GetTerminationEvent() != nil {
				break
			}
		}
		got <- n
	}()
	pushRun(t, a, "", 300)
	select {
	case n := <-got:
		if n != 300 {
			t.Fatalf("the subscriber of the other collector saw %d events, want 300", n)
		}
	case <-ctx.Done():
		t.Fatal("the subscriber of the other collector did not see the run end")
	}
}

func TestTokenIsRequired(t *testing.T) {
	addr := serve(t, filepath.Join(t.TempDir(), "c.db"), collector.Options{Token: "s3cret"})
	base := "http://" + addr
	for _, path := range []string{query.RunsPath, rpc.EventsPath, query.FeedPath, query.RunsPath + "/x"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Error(err)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %s, want 401", path, resp.Status)
		}
	}
	// The dashboard sends a browser to sign in.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Error(err)
	}
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("the dashboard without the token: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	resp, err = noFollow.PostForm(base+"/login", map[string][]string{"token": {"s3cret"}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Error(err)
	}
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly {
		t.Fatalf("signing in: %s, cookies %v", resp.Status, cookies)
	}
	req, _ := http.NewRequest("GET", base+query.RunsPath, nil)
	req.AddCookie(cookies[0])
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("runs with the dashboard's cookie: %v %v", resp.Status, err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Error(err)
	}
	// RPCs, pushes included.
	cc := hoistv1alpha2connect.NewCollectorServiceClient(http.DefaultClient, base, connect.WithGRPC())
	if _, err := cc.ListRuns(t.Context(), connect.NewRequest(&pb.ListRunsRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("ListRuns without the token: %v", err)
	}
	p, err := rpc.NewPusher(testutil.NewBus(t), rpc.ClientOptions{Address: addr, Token: "wrong"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(t.Context(), 5*time.Second); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("a push with a wrong token: %v", err)
	}
	id, _ := pushRun(t, addr, "s3cret", 5)
	lines := httpLines(t, base+rpc.EventsPath+"?run="+id, "s3cret")
	if len(lines) != 5 {
		t.Errorf("with the token: %d events, want 5", len(lines))
	}
}

// TestBadInputIsRefused pushes invalid and oversized events: each ends the
// stream with a clear status, and nothing of it is stored.
func TestBadInputIsRefused(t *testing.T) {
	addr := serve(t, filepath.Join(t.TempDir(), "c.db"), collector.Options{MaxEventBytes: 4096})
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	client := hoistv1alpha2connect.NewEventSinkServiceClient(hc, "http://"+addr, connect.WithGRPC())
	ok := func(seq uint32, log string) *pb.Envelope {
		return &pb.Envelope{EventId: "run-1", Event: &pb.Event{Sequence: seq, Timestamp: timestamppb.Now(),
			Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Log: log}}}}
	}
	for _, tc := range []struct {
		name string
		env  *pb.Envelope
		code connect.Code
		want string
	}{
		{"no payload", &pb.Envelope{EventId: "run-1", Event: &pb.Event{Sequence: 1, Timestamp: timestamppb.Now()}}, connect.CodeInvalidArgument, "no payload"},
		{"no sequence", ok(0, "x"), connect.CodeInvalidArgument, "sequences start at 1"},
		{"bad run id", &pb.Envelope{EventId: "../etc", Event: ok(1, "x").Event}, connect.CodeInvalidArgument, "event_id"},
		{"NUL in an image", &pb.Envelope{EventId: "run-1", Event: &pb.Event{Sequence: 1, Timestamp: timestamppb.Now(),
			Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "run", Artifacts: []string{"a\x00b"}}}}}, connect.CodeInvalidArgument, "NUL"},
		{"oversized", ok(1, strings.Repeat("x", 8000)), connect.CodeResourceExhausted, "larger than"},
		{"gap", ok(7, "x"), connect.CodeFailedPrecondition, "does not follow"},
	} {
		// Each through Push, and through PushBatch after a valid event.
		t.Run(tc.name, func(t *testing.T) {
			stream := client.Push(t.Context())
			if err := stream.Send(&pb.PushRequest{Envelope: tc.env}); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			if err := stream.CloseRequest(); err != nil {
				t.Fatal(err)
			}
			expectRefusal(t, stream.Receive, tc.code, tc.want)
		})
		t.Run(tc.name+"/batch", func(t *testing.T) {
			envs := []*pb.Envelope{tc.env}
			if seq := tc.env.GetEvent().GetSequence(); seq > 1 && tc.name != "gap" {
				envs = []*pb.Envelope{ok(seq-1, "x"), tc.env}
			}
			stream := client.PushBatch(t.Context())
			if err := stream.Send(&pb.PushBatchRequest{Envelopes: envs}); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			if err := stream.CloseRequest(); err != nil {
				t.Fatal(err)
			}
			expectRefusal(t, stream.Receive, tc.code, tc.want)
		})
	}
	t.Run("empty batch", func(t *testing.T) {
		stream := client.PushBatch(t.Context())
		if err := stream.Send(&pb.PushBatchRequest{}); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if err := stream.CloseRequest(); err != nil {
			t.Fatal(err)
		}
		expectRefusal(t, stream.Receive, connect.CodeInvalidArgument, "without envelopes")
	})
	resp, err := http.Get("http://" + addr + query.RunsPath)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err = errors.Join(err, resp.Body.Close()); err != nil {
		t.Fatalf("reading the runs: %v", err)
	}
	if strings.Contains(string(body), "run-1") {
		t.Fatalf("refused events were stored: %s", body)
	}
}

// expectRefusal receives until the stream fails, and wants it to fail
// with code and a message mentioning want.
func expectRefusal(t *testing.T, receive func() (*pb.PushResponse, error), code connect.Code, want string) {
	t.Helper()
	var err error
	for err == nil {
		_, err = receive()
	}
	if connect.CodeOf(err) != code || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %v mentioning %q", err, code, want)
	}
}

// TestRetentionKeepsTheNewestRuns runs retention with a run limit while
// runs arrive: the oldest go, with their events.
func TestRetentionKeepsTheNewestRuns(t *testing.T) {
	addr := serve(t, filepath.Join(t.TempDir(), "c.db"), collector.Options{MaxRuns: 2, RetentionInterval: 20 * time.Millisecond})
	var ids []string
	for range 4 {
		id, _ := pushRun(t, addr, "", 10)
		ids = append(ids, id)
	}
	cc := hoistv1alpha2connect.NewCollectorServiceClient(http.DefaultClient, "http://"+addr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		runs, err := cc.ListRuns(t.Context(), connect.NewRequest(&pb.ListRunsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range runs.Msg.Runs {
			got = append(got, r.EventId)
		}
		if fmt.Sprint(got) == fmt.Sprint([]string{ids[3], ids[2]}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs %v, want the newest two of %v", got, ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr + rpc.EventsPath + "?run=" + ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Error(err)
	}
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the events of a deleted run: %s, want 404", resp.Status)
	}
}
