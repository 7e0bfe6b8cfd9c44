package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	_ "google.golang.org/protobuf/types/known/durationpb" // for the Duration field of the unhandled kinds

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// TestGeneratedFileIsFresh checks that internal/event/jsonenc_gen.go is
// what jsongen writes from today's proto.
func TestGeneratedFileIsFresh(t *testing.T) {
	want, err := generate(pb.File_hoist_v1alpha2_event_proto, "hoist.v1alpha2.Envelope")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "jsonenc_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("internal/event/jsonenc_gen.go is stale: run go generate ./internal/event (-generated +file):\n%s", diff)
	}
}

// unhandled holds a message per kind of field jsongen does not handle.
const unhandled = `
name: "hoist/test/unhandled.proto" package: "hoist.test" syntax: "proto3"
dependency: "google/protobuf/duration.proto"
options { go_package: "example.com/test;testpb" }
message_type { name: "Int64" field { name: "n" number: 1 label: LABEL_OPTIONAL type: TYPE_INT64 json_name: "n" } }
message_type { name: "Bool" field { name: "b" number: 1 label: LABEL_OPTIONAL type: TYPE_BOOL json_name: "b" } }
message_type { name: "Bytes" field { name: "b" number: 1 label: LABEL_OPTIONAL type: TYPE_BYTES json_name: "b" } }
message_type { name: "Double" field { name: "d" number: 1 label: LABEL_OPTIONAL type: TYPE_DOUBLE json_name: "d" } }
message_type { name: "RepeatedInt64" field { name: "n" number: 1 label: LABEL_REPEATED type: TYPE_INT64 json_name: "n" } }
message_type {
  name: "Optional"
  field { name: "s" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "s" oneof_index: 0 proto3_optional: true }
  oneof_decl { name: "_s" }
}
message_type {
  name: "Map"
  field { name: "m" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".hoist.test.Map.MEntry" json_name: "m" }
  nested_type {
    name: "MEntry" options { map_entry: true }
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "key" }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "value" }
  }
}
message_type { name: "Duration" field { name: "d" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" json_name: "d" } }
message_type { name: "OddName" field { name: "s" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "a<b" } }
message_type { name: "Nested" field { name: "n" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".hoist.test.Int64" json_name: "n" } }
`

// TestGenerateRefusesUnhandled checks that a field jsongen cannot write as
// protojson does, anywhere under the root message, stops it with an error
// that names the field.
func TestGenerateRefusesUnhandled(t *testing.T) {
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := prototext.Unmarshal([]byte(unhandled), fdp); err != nil {
		t.Fatal(err)
	}
	file, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	for msg, field := range map[string]string{
		"Int64": "hoist.test.Int64.n", "Bool": "hoist.test.Bool.b", "Bytes": "hoist.test.Bytes.b",
		"Double": "hoist.test.Double.d", "RepeatedInt64": "hoist.test.RepeatedInt64.n",
		"Optional": "hoist.test.Optional.s", "Map": "hoist.test.Map.m", "Duration": "hoist.test.Duration.d",
		"OddName": "hoist.test.OddName.s", "Nested": "hoist.test.Int64.n",
	} {
		t.Run(msg, func(t *testing.T) {
			src, err := generate(file, protoreflect.FullName("hoist.test."+msg))
			if err == nil {
				t.Fatalf("generate succeeded:\n%s", src)
			}
			if !strings.Contains(err.Error(), field+":") {
				t.Errorf("error %q does not name %s", err, field)
			}
		})
	}
}
