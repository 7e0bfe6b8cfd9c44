package ingest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Validate refuses an envelope the collector will not store, saying why.
func Validate(env *pb.Envelope) error {
	if env == nil {
		return errors.New("push request without an envelope")
	}
	if !runIDPattern.MatchString(env.EventId) {
		return fmt.Errorf("event_id %q: want the run id, 1 to 64 letters, digits, '.', '_' or '-'", env.EventId)
	}
	ev := env.Event
	if ev == nil {
		return fmt.Errorf("run %s: envelope without an event", env.EventId)
	}
	if ev.Sequence == 0 {
		return fmt.Errorf("run %s: event without a sequence; sequences start at 1", env.EventId)
	}
	if err := ev.GetTimestamp().CheckValid(); err != nil {
		return fmt.Errorf("run %s, event %d: timestamp: %v", env.EventId, ev.Sequence, err)
	}
	if ev.Payload == nil {
		return fmt.Errorf("run %s, event %d: no payload; set one of %s", env.EventId, ev.Sequence, strings.Join(event.PayloadTypes, ", "))
	}
	// The command and images are columns of their own, and PostgreSQL
	// refuses a NUL in text: refuse it here, rather than fail the batch.
	if m := ev.GetMetaEvent(); m != nil {
		for _, v := range append([]string{m.Command}, m.Artifacts...) {
			if strings.ContainsRune(v, 0) {
				return fmt.Errorf("run %s, event %d: metaEvent: %q contains a NUL character", env.EventId, ev.Sequence, v)
			}
		}
	}
	return nil
}
