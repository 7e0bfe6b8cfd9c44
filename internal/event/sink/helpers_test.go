package sink_test

import "context"

func t0() context.Context { return context.Background() }
