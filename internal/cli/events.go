package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
)

type eventsOptions struct {
	address  string
	follow   bool
	run      string
	token    string
	ca       string
	file     string
	output   string
	after    uint32
	types    []string
	images   []string
	statuses []string
}

func newEvents(s Streams) *cobra.Command {
	o := &eventsOptions{}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the events of a run, from a running hoist, a collector or an event log file",
		Example: `  hoist events --address 127.0.0.1:50052 --follow --output text
  hoist events --file events.jsonl --type buildEvent --status FAILED`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEvents(cmd.Context(), s, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.address, "address", "", "Event API to read from: a hoist started with --rpc-port, or a collector (host:port or an http(s):// URL)")
	f.BoolVar(&o.follow, "follow", false, "with --address, keep printing live events until the run ends")
	f.StringVar(&o.run, "run", "", "with --address, the run (event_id) to read; a collector holds many")
	f.StringVar(&o.token, "token", os.Getenv("HOIST_TOKEN"), "bearer token for --address (default $HOIST_TOKEN)")
	f.StringVar(&o.ca, "ca", "", "CA bundle that verifies an https:// --address")
	f.StringVar(&o.file, "file", "", "event log file to read (written by --event-log-file)")
	f.StringVarP(&o.output, "output", "o", "json", "json (one event per line) or text (a readable timeline)")
	f.Uint32Var(&o.after, "after", 0, "only events after this sequence")
	f.StringSliceVar(&o.types, "type", nil, "only these payload types: "+strings.Join(event.PayloadTypes, ", "))
	f.StringSliceVar(&o.images, "image", nil, "only build events of these images")
	f.StringSliceVar(&o.statuses, "status", nil, "only events with these statuses: "+strings.Join(event.Statuses, ", "))
	return cmd
}

func runEvents(ctx context.Context, s Streams, o *eventsOptions) error {
	if (o.file == "") == (o.address == "") {
		return usageError("give either --address (a running hoist or a collector) or --file (an event log file)")
	}
	if o.output != "json" && o.output != "text" {
		return usageError("--output must be json or text, got %q", o.output)
	}
	filter, err := o.filter()
	if err != nil {
		return err
	}
	out, err := sink.NewStream(s.Out, sink.Format(o.output), slog.LevelDebug, isTerminal(s.Out))
	if err != nil {
		return err
	}
	if o.address != "" {
		return o.fromAPI(ctx, out)
	}
	return o.fromFile(s, out, filter)
}

// fromAPI streams events from the Event API, resuming by itself when the
// server ends it for falling behind.
func (o *eventsOptions) fromAPI(ctx context.Context, out *sink.Stream) error {
	copts := rpc.ClientOptions{Address: o.address, Token: o.token, CAFile: o.ca}
	hc, err := rpc.NewHTTPClient(copts)
	if err != nil {
		return usageError("%v", err)
	}
	client := hoistv1alpha2connect.NewEventServiceClient(hc, rpc.BaseURL(o.address), rpc.ClientOpts(copts)...)
	req := &pb.EventsRequest{AfterSequence: o.after, HistoryOnly: !o.follow, RunId: o.run,
		Filter: &pb.EventFilter{Types: o.types, Images: o.images}}
	req.Filter.Statuses, err = event.ParseStatuses(o.statuses)
	if err != nil {
		return usageError("--status: %v", err)
	}
	for {
		stream, err := client.Events(ctx, connect.NewRequest(req))
		if err != nil {
			return eventsUnreachable(o.address, err)
		}
		for stream.Receive() {
			env := stream.Msg()
			if err := out.Write(env); err != nil {
				return err
			}
			if err := out.Flush(); err != nil {
				return err
			}
		}
		err = stream.Err()
		stream.Close()
		if sc, ok := rpc.SlowConsumerOf(err); ok {
			req.AfterSequence = sc.LastSequence
			continue
		}
		if err != nil {
			return eventsUnreachable(o.address, err)
		}
		return nil
	}
}

func eventsUnreachable(address string, err error) error {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeDeadlineExceeded:
		return fault.Wrap(err, fault.EventsUnreachable,
			fmt.Sprintf("cannot read events from %s", address),
			"check that hoist runs with --rpc-port (or the collector runs) at that address")
	case connect.CodeCanceled:
		return fault.Wrap(err, fault.Canceled, "canceled")
	case connect.CodeNotFound:
		return fault.Wrap(err, fault.EventsRunNotFound, fmt.Sprintf("%s holds no such run", address),
			fmt.Sprintf("list the runs it holds: curl %s/v1alpha2/runs, or open its dashboard", rpc.BaseURL(address)))
	case connect.CodeUnauthenticated:
		return fault.Wrap(err, fault.EventsUnauthorized, fmt.Sprintf("%s refused the request", address),
			"pass the collector's token with --token (or $HOIST_TOKEN)")
	}
	return fault.Wrap(err, fault.EventsUnreachable, fmt.Sprintf("reading events from %s", address))
}

// fromFile prints the events of an event log file.
func (o *eventsOptions) fromFile(s Streams, out *sink.Stream, filter event.Filter) error {
	f, err := os.Open(o.file)
	if err != nil {
		return fault.Wrap(err, fault.EventLogFileFailed, "reading the event log file",
			"check the path given to --file")
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) > 0 {
			// A last line without a newline was cut off by a crash.
			fmt.Fprintf(s.Err, "warning: %s:%d: skipping an unfinished last line\n", o.file, n)
			break
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fault.Wrap(err, fault.EventLogFileFailed, "reading the event log file")
		}
		if strings.TrimSpace(string(line)) == "" {
			continue
		}
		env, err := event.UnmarshalJSON(line)
		if err != nil {
			return fault.New(fault.EventLogFileParse,
				fmt.Sprintf("%s:%d: not a hoist event: %v", o.file, n, err),
				"pass a file written by --event-log-file")
		}
		if env.Event.Sequence <= o.after || !filter.Match(env.Event) {
			continue
		}
		if err := out.Write(env); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// filter builds the event filter of the flags.
func (o *eventsOptions) filter() (event.Filter, error) {
	statuses, err := event.ParseStatuses(o.statuses)
	if err != nil {
		return event.Filter{}, usageError("--status: %v", err)
	}
	f := &pb.EventFilter{Types: o.types, Images: o.images, Statuses: statuses}
	ef, err := event.FilterFrom(f)
	if err != nil {
		return event.Filter{}, usageError("%v", err)
	}
	return ef, nil
}
