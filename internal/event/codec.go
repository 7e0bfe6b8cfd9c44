package event

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

var (
	marshal   = protojson.MarshalOptions{}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// AppendJSON appends env's JSON form, one line without the newline, to b.
func AppendJSON(b []byte, env *pb.Envelope) ([]byte, error) {
	return marshal.MarshalAppend(b, env)
}

// MarshalJSON returns env's JSON form.
func MarshalJSON(env *pb.Envelope) ([]byte, error) {
	return marshal.Marshal(env)
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
