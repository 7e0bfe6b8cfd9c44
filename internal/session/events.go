package session

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/pkg/client"
)

// EventsOptions say which events of a run to print, from where and how.
type EventsOptions struct {
	// Address is an Event API to read: a hoist serving its run, or a
	// collector. Token and CAFile serve it.
	Address string
	Token   string
	CAFile  string
	// RunID is the run to read from a collector, which holds many.
	RunID string
	// Follow keeps printing an Address's live events until the run ends.
	Follow bool
	// File is an event log file to read instead of an Address.
	File string
	// Output is json (one event per line) or text (a timeline).
	Output string
	// After skips the events up to this sequence.
	After                   uint32
	Types, Images, Statuses []string

	// Out receives the events; Err the messages for the user.
	Out, Err io.Writer
}

// Events prints the events of a run, read from an Event API or from an
// event log file.
func Events(ctx context.Context, o EventsOptions) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if (o.File == "") == (o.Address == "") {
		return usageError("give either --address (a running hoist or a collector) or --file (an event log file)")
	}
	if o.Output != "json" && o.Output != "text" {
		return usageError("--output must be json or text, got %q", o.Output)
	}
	statuses, err := event.ParseStatuses(o.Statuses)
	if err != nil {
		return usageError("--status: %v", err)
	}
	filter := &pb.EventFilter{Types: o.Types, Images: o.Images, Statuses: statuses}
	match, err := event.FilterFrom(filter)
	if err != nil {
		return usageError("%v", err)
	}
	out, err := sink.NewStream(o.Out, sink.Format(o.Output), slog.LevelDebug, isTerminal(o.Out))
	if err != nil {
		return err
	}
	write := func(env *pb.Envelope) error {
		if err := out.Write(env); err != nil {
			return err
		}
		return out.Flush()
	}
	if o.File != "" {
		return readLog(o.File, o.Err, func(env *pb.Envelope) error {
			if env.Event.Sequence <= o.After || !match.Match(env.Event) {
				return nil
			}
			return write(env)
		})
	}
	c, err := client.New(o.Address, client.WithToken(o.Token), client.WithCAFile(o.CAFile))
	if err != nil {
		return usageError("%v", err)
	}
	req := &pb.EventsRequest{AfterSequence: o.After, HistoryOnly: !o.Follow, RunId: o.RunID, Filter: filter}
	var (
		writeErr error
		last     = o.After
		ended    bool
	)
	if o.Output == "json" {
		last, ended, writeErr, err = copyLines(ctx, c, req, o.Out)
	} else {
		err = c.Events(ctx, req, func(env *pb.Envelope) error {
			last, ended = env.Event.GetSequence(), ended || env.Event.GetTerminationEvent() != nil
			writeErr = write(env)
			return writeErr
		})
	}
	if writeErr != nil {
		return writeErr
	}
	if err != nil {
		return resumeHint(eventsUnreachable(o.Address, err), last)
	}
	if o.Follow && !ended && selectsTermination(filter) {
		return resumeHint(fault.New(fault.EventsUnreachable,
			fmt.Sprintf("the stream from %s ended before the run's terminationEvent", o.Address)), last)
	}
	return nil
}

// copyLines writes the JSON lines of the events req asks for to out, as
// the server encoded them, flushing whenever it has caught up with the
// stream: printing JSON, hoist events decodes nothing but the last event,
// for its sequence and whether it ended the run.
func copyLines(ctx context.Context, c *client.Client, req *pb.EventsRequest, out io.Writer) (last uint32, ended bool, writeErr, err error) {
	last = req.GetAfterSequence()
	w := bufio.NewWriterSize(out, 64<<10)
	var lastLine []byte
	err = c.EventLines(ctx, req, func(line []byte, more bool) error {
		lastLine = append(lastLine[:0], line...)
		if _, writeErr = w.Write(line); writeErr == nil {
			writeErr = w.WriteByte('\n')
		}
		if writeErr == nil && !more {
			writeErr = w.Flush()
		}
		return writeErr
	})
	if ferr := w.Flush(); writeErr == nil {
		writeErr = ferr
	}
	if lastLine != nil {
		env, derr := event.UnmarshalJSON(lastLine)
		if derr != nil && err == nil && writeErr == nil {
			err = fmt.Errorf("reading the last event: %w", derr)
		}
		last, ended = env.GetEvent().GetSequence(), env.GetEvent().GetTerminationEvent() != nil
	}
	return last, ended, writeErr, err
}

// selectsTermination reports whether filter lets a run's terminationEvent
// through, whatever its status: then following a run must end with it.
func selectsTermination(f *pb.EventFilter) bool {
	return len(f.GetStatuses()) == 0 && (len(f.GetTypes()) == 0 || slices.Contains(f.GetTypes(), "terminationEvent"))
}

// resumeHint adds to err where the events after last can still be read.
func resumeHint(err error, last uint32) error {
	f := fault.As(err)
	if f == nil || f.Code == fault.Canceled || last == 0 {
		return err
	}
	f.Suggestions = append(f.Suggestions, fmt.Sprintf(
		"the events after sequence %d can be read with --after %d from the run's collector (--run) or its event log file (--file)", last, last))
	return err
}

// eventsUnreachable is the fault of an Event API that could not be read.
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
			"pass the token it was started with, a collector's --token or a run's --rpc-token, with --token (or $HOIST_TOKEN, $HOIST_RPC_TOKEN)")
	}
	return fault.Wrap(err, fault.EventsUnreachable, fmt.Sprintf("reading events from %s", address))
}
