package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/fault"
)

type eventsOptions struct {
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
		Short: "Print the events of a run from an event log file, as JSON or text",
		Example: `  hoist events --file events.jsonl --output text
  hoist events --file events.jsonl --type buildEvent --status FAILED`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEvents(s, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.file, "file", "", "event log file to read (written by --event-log-file)")
	f.StringVarP(&o.output, "output", "o", "json", "json (one event per line) or text (a readable timeline)")
	f.Uint32Var(&o.after, "after", 0, "only events after this sequence")
	f.StringSliceVar(&o.types, "type", nil, "only these payload types: metaEvent, buildEvent, deployEvent, statusCheckEvent, devLoopEvent, terminationEvent")
	f.StringSliceVar(&o.images, "image", nil, "only build events of these images")
	f.StringSliceVar(&o.statuses, "status", nil, "only events with these statuses: IN_PROGRESS, SUCCEEDED, FAILED, CANCELED, SKIPPED")
	return cmd
}

func runEvents(s Streams, o *eventsOptions) error {
	if o.file == "" {
		return usageError("give the event log file to read with --file")
	}
	if o.output != "json" && o.output != "text" {
		return usageError("--output must be json or text, got %q", o.output)
	}
	for _, st := range o.statuses {
		if _, ok := pb.Status_value[strings.ToUpper(st)]; !ok || strings.EqualFold(st, "STATUS_UNSPECIFIED") {
			return usageError("--status %q: use IN_PROGRESS, SUCCEEDED, FAILED, CANCELED or SKIPPED", st)
		}
	}
	f, err := os.Open(o.file)
	if err != nil {
		return fault.Wrap(err, fault.EventLogFileFailed, fault.ExitEvents, "reading the event log file",
			"check the path given to --file")
	}
	defer f.Close()
	out, err := sink.NewStream(s.Out, sink.Format(o.output), slog.LevelDebug, isTerminal(s.Out))
	if err != nil {
		return err
	}
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
			return fault.Wrap(err, fault.EventLogFileFailed, fault.ExitEvents, "reading the event log file")
		}
		if strings.TrimSpace(string(line)) == "" {
			continue
		}
		env, err := event.UnmarshalJSON(line)
		if err != nil {
			return fault.New(fault.EventLogFileParse, fault.ExitEvents,
				fmt.Sprintf("%s:%d: not a hoist event: %v", o.file, n, err),
				"pass a file written by --event-log-file")
		}
		if !o.match(env.Event) {
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

// match applies the filters.
func (o *eventsOptions) match(ev *pb.Event) bool {
	if ev.Sequence <= o.after {
		return false
	}
	if len(o.types) > 0 && !slices.Contains(o.types, event.TypeOf(ev)) {
		return false
	}
	if len(o.images) > 0 && !slices.Contains(o.images, ev.GetBuildEvent().GetImage()) {
		return false
	}
	if len(o.statuses) > 0 && !slices.ContainsFunc(o.statuses, func(s string) bool {
		return strings.EqualFold(s, event.StatusOf(ev).String())
	}) {
		return false
	}
	return true
}
