package client_test

import (
	"context"
	"fmt"
	"log"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/pkg/client"
)

// Follow a run to its end and print how each build went. The address is
// what `hoist run --rpc-port 50052` serves, 127.0.0.1:50052; here a run
// served in-process.
func Example() {
	c, err := client.New(runningHoist())
	if err != nil {
		log.Fatal(err)
	}
	req := &pb.EventsRequest{Filter: &pb.EventFilter{Types: []string{"buildEvent", "terminationEvent"}}}
	err = c.Events(context.Background(), req, func(env *pb.Envelope) error {
		ev := env.Event
		switch {
		case ev.GetBuildEvent().GetArtifact() != nil:
			fmt.Println(ev.Sequence, ev.GetBuildEvent().Image, "built", ev.GetBuildEvent().Artifact.Tag)
		case ev.GetBuildEvent().GetError() != nil:
			fmt.Println(ev.Sequence, ev.GetBuildEvent().Image, "failed:", ev.GetBuildEvent().Error.Message)
		case ev.GetTerminationEvent() != nil:
			fmt.Println(ev.Sequence, "run", ev.GetTerminationEvent().Status)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// 5 app built 127.0.0.1:5000/app:v1
	// 6 worker failed: step 3/3: exit status 2
	// 7 run FAILED
}

// Ask where a run stands; on a collector, name the run with RunId.
func ExampleClient_State() {
	c, err := client.New(runningHoist())
	if err != nil {
		log.Fatal(err)
	}
	st, err := c.State(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range st.Artifacts {
		if a.Error != nil {
			fmt.Println(a.Image, a.Status, a.Error.Code)
		} else {
			fmt.Println(a.Image, a.Status, a.Artifact.GetDigest())
		}
	}
	fmt.Println("run", st.Status)
	// Output:
	// app SUCCEEDED sha256:8d3a
	// worker FAILED BUILD_RUN_FAILED
	// run FAILED
}
