// Command subscriber is an Event API client in a process of its own, for
// the tests that check delivery of a whole run: built without the race
// detector, it reads as fast as a real client does, where one inside a
// race-instrumented test binary reads several times slower than a run
// prints.
//
//	subscriber -address 127.0.0.1:50052 -protocol grpc|connect
//
// It follows the run from its first event with the generated client of
// the EventService, over gRPC or Connect's own protocol, and writes each
// event to stdout as a JSON line, in hoist's encoding (the event log
// file's). When the server ends the stream for falling behind, or at the
// drain bound, it resumes after the last sequence the status names, and
// says so on stderr. It exits 0 once the stream has ended without an
// error, and 1 on any other end.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
)

func main() {
	address := flag.String("address", "", "the Event API, host:port")
	protocol := flag.String("protocol", "grpc", "grpc or connect")
	flag.Parse()
	if err := run(context.Background(), *address, *protocol, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "subscriber:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, address, protocol string, stdout, stderr io.Writer) error {
	var opts []connect.ClientOption
	switch protocol {
	case "grpc":
		opts = append(opts, connect.WithGRPC())
	case "connect":
	default:
		return fmt.Errorf("-protocol must be grpc or connect, got %q", protocol)
	}
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: address})
	if err != nil {
		return err
	}
	client := hoistv1alpha2connect.NewEventServiceClient(hc, rpc.BaseURL(address), opts...)
	out := bufio.NewWriterSize(stdout, 64<<10)
	var line []byte
	for after := uint32(0); ; {
		stream, err := client.Events(ctx, connect.NewRequest(&pb.EventsRequest{AfterSequence: after}))
		if err != nil {
			return errors.Join(err, out.Flush())
		}
		for stream.Receive() {
			if line, err = event.AppendJSON(line[:0], stream.Msg()); err != nil {
				return errors.Join(err, out.Flush())
			}
			_, _ = out.Write(line)
			if err := out.WriteByte('\n'); err != nil {
				return err
			}
		}
		if sc, ok := rpc.SlowConsumerOf(stream.Err()); ok {
			_, _ = fmt.Fprintf(stderr, "subscriber: the stream ended after sequence %d; resuming\n", sc.LastSequence)
			after = sc.LastSequence
			continue
		}
		return errors.Join(stream.Err(), out.Flush())
	}
}
