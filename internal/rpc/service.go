package rpc

import "net/http"

// A Service is served on the Event API's port beside hoist's own services,
// behind whatever wraps the Server's handler: Skaffold's v1 and v2 APIs
// (package skaffoldapi) are. Its streams follow the bus with Follow, so
// that Drain waits for them at the end of the run.
type Service interface {
	// Mount adds the service's handlers to mux and returns the names of
	// its gRPC services, for reflection and health checks.
	Mount(mux *http.ServeMux) []string
}
