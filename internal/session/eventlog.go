package session

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
)

// readLog calls fn with each event of an event log file, in order. A last
// line without its newline, cut off by a crash, is skipped with a warning
// on warn.
func readLog(path string, warn io.Writer, fn func(*pb.Envelope) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fault.Wrap(err, fault.EventLogFileFailed, "reading the event log file",
			"check the path given to --file")
	}
	// Closing a file that was only read loses nothing.
	defer func() { _ = f.Close() }()
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				_, _ = fmt.Fprintf(warn, "warning: %s:%d: skipping an unfinished last line\n", path, n)
			}
			return nil
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
				fmt.Sprintf("%s:%d: not a hoist event: %v", path, n, err),
				"pass a file written by --event-log-file")
		}
		if err := fn(env); err != nil {
			return err
		}
	}
}
