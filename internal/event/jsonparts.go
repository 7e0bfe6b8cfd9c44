package event

// AppendJSONString appends s as a JSON string, escaped exactly as
// protojson escapes one: for encoders of other messages' JSON that must
// write protojson's bytes, such as Skaffold's events (package
// skaffoldapi). It fails on a string that is not valid UTF-8.
func AppendJSONString(b []byte, s string) ([]byte, error) { return appendString(b, s) }

// AppendJSONTimestamp appends a google.protobuf.Timestamp as protojson
// writes one: a quoted RFC 3339 time in UTC with 0, 3, 6 or 9 fractional
// digits. It fails outside the type's range.
func AppendJSONTimestamp(b []byte, secs int64, nanos int32) ([]byte, error) {
	return appendTimestamp(b, secs, int64(nanos))
}
