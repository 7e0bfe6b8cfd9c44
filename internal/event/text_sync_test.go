package event

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

func TestTextOfFileSyncs(t *testing.T) {
	at := timestamppb.New(time.Date(2023, 10, 27, 10, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		e    *pb.FileSyncEvent
		want string
	}{
		{&pb.FileSyncEvent{Image: "web", FileCount: 1, Status: pb.Status_IN_PROGRESS}, "10:00:00.000 sync    web IN_PROGRESS 1 file"},
		{&pb.FileSyncEvent{Image: "web", FileCount: 3, Status: pb.Status_SUCCEEDED}, "10:00:00.000 sync    web SUCCEEDED 3 files"},
		{&pb.FileSyncEvent{Image: "web", FileCount: 1, Status: pb.Status_FAILED, Error: &pb.Error{Code: "SYNC_FAILED", Message: "no tar"}},
			"10:00:00.000 sync    web FAILED 1 file [SYNC_FAILED] no tar"},
	} {
		env := &pb.Envelope{Event: &pb.Event{Timestamp: at, Payload: &pb.Event_FileSyncEvent{FileSyncEvent: tc.e}}}
		if got := string(AppendText(nil, env, false)); got != tc.want {
			t.Errorf("AppendText = %q, want %q", got, tc.want)
		}
	}
}
