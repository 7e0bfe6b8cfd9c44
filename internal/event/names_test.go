package event

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

func TestNamesComeFromTheDescriptor(t *testing.T) {
	wantTypes := []string{"metaEvent", "buildEvent", "deployEvent", "statusCheckEvent", "devLoopEvent", "terminationEvent", "testEvent", "renderEvent", "applicationLogEvent", "portEvent", "fileSyncEvent"}
	if diff := cmp.Diff(wantTypes, PayloadTypes); diff != "" {
		t.Errorf("PayloadTypes (-want +got):\n%s", diff)
	}
	wantStatuses := []string{"IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"}
	if diff := cmp.Diff(wantStatuses, Statuses); diff != "" {
		t.Errorf("Statuses (-want +got):\n%s", diff)
	}
}

func TestTypeOf(t *testing.T) {
	tests := []struct {
		ev   *pb.Event
		want string
	}{
		{nil, ""},
		{&pb.Event{}, ""},
		{&pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{}}}, "metaEvent"},
		{&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{}}}, "buildEvent"},
		{&pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{}}}, "deployEvent"},
		{&pb.Event{Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: &pb.StatusCheckEvent{}}}, "statusCheckEvent"},
		{&pb.Event{Payload: &pb.Event_DevLoopEvent{DevLoopEvent: &pb.DevLoopEvent{}}}, "devLoopEvent"},
		{&pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{}}}, "terminationEvent"},
	}
	for _, tt := range tests {
		if got := TypeOf(tt.ev); got != tt.want {
			t.Errorf("TypeOf(%v) = %q, want %q", tt.ev, got, tt.want)
		}
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		in      string
		want    pb.Status
		wantErr bool
	}{
		{"FAILED", pb.Status_FAILED, false},
		{" succeeded ", pb.Status_SUCCEEDED, false},
		{"skipped", pb.Status_SKIPPED, false},
		{"STATUS_UNSPECIFIED", 0, true},
		{"", 0, true},
		{"DONE", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseStatus(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseStatus(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := ParseStatuses([]string{"FAILED", "nope"}); err == nil {
		t.Error("ParseStatuses accepted an unknown status")
	}
}
