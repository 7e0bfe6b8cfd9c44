package event

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// unmarshal reads events; decoding is not on the hot path, so it stays
// protojson's.
var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

// AppendJSON appends env's JSON form, one line without the newline, to b.
// The form is protojson's without its random whitespace: the same event
// gives the same bytes in every build. A string that is not valid UTF-8 is
// an error, as it is for protojson; on an error b is returned as it was.
func AppendJSON(b []byte, env *pb.Envelope) ([]byte, error) {
	out, err := appendEnvelope(b, env)
	if err != nil {
		return b, err
	}
	return out, nil
}

// MarshalJSON returns env's JSON form, as AppendJSON writes it.
func MarshalJSON(env *pb.Envelope) ([]byte, error) {
	b, err := AppendJSON(make([]byte, 0, 256), env)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// UnmarshalJSON reads one event's JSON form. Unknown fields, from a newer
// hoist, are ignored; a wrong apiVersion or kind is an error.
func UnmarshalJSON(data []byte) (*pb.Envelope, error) {
	env := &pb.Envelope{}
	if err := unmarshal.Unmarshal(data, env); err != nil {
		return nil, err
	}
	if env.ApiVersion != APIVersion {
		return nil, fmt.Errorf("apiVersion %q is not %q", env.ApiVersion, APIVersion)
	}
	if env.Kind != Kind {
		return nil, fmt.Errorf("kind %q is not %q", env.Kind, Kind)
	}
	if env.Event == nil {
		return nil, fmt.Errorf("no event")
	}
	return env, nil
}
