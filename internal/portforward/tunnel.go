package portforward

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/streaming/pkg/httpstream"
)

// Dialer opens the port-forward connection of a pod, over which each
// local connection is one pair of streams.
type Dialer func(namespace, pod string) (httpstream.Connection, error)

// NewDialer returns the dialer of a cluster as kubectl port-forward has
// it: the API server's pods/portforward subresource, over WebSocket and,
// when the server cannot upgrade to it, over SPDY.
func NewDialer(cfg *rest.Config, client kubernetes.Interface) Dialer {
	return func(namespace, pod string) (httpstream.Connection, error) {
		url := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
		transport, upgrader, err := spdy.RoundTripperFor(cfg)
		if err != nil {
			return nil, err
		}
		dialer := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
		tunneling, err := portforward.NewSPDYOverWebsocketDialerForStreaming(url, cfg)
		if err != nil {
			return nil, err
		}
		dialer = portforward.NewFallbackDialerForStreaming(tunneling, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
		conn, protocol, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
		if err != nil {
			return nil, err
		}
		if protocol != portforward.PortForwardProtocolV1Name {
			_ = conn.Close()
			return nil, fmt.Errorf("the API server speaks %q, not %q", protocol, portforward.PortForwardProtocolV1Name)
		}
		return conn, nil
	}
}

// tunnel is the port-forward connection of one pod, shared by the local
// connections to it. A tunnel that a forward has moved away from is
// retired: it closes when its last connection ends.
type tunnel struct {
	conn      httpstream.Connection
	namespace string
	ep        endpoint
	requests  atomic.Int64

	mu      sync.Mutex
	active  int
	retired bool
}

// closed reports whether the connection to the pod has ended.
func (t *tunnel) closed() bool {
	select {
	case <-t.conn.CloseChan():
		return true
	default:
		return false
	}
}

// usable reports whether new connections may go through the tunnel.
func (t *tunnel) usable() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.retired && !t.closed()
}

// acquire counts a local connection in; false when the tunnel is retired
// or closed.
func (t *tunnel) acquire() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.retired || t.closed() {
		return false
	}
	t.active++
	return true
}

// release counts a local connection out.
func (t *tunnel) release() {
	t.mu.Lock()
	t.active--
	last := t.retired && t.active == 0
	t.mu.Unlock()
	if last {
		_ = t.conn.Close()
	}
}

// retire closes the tunnel once its connections have ended.
func (t *tunnel) retire() {
	t.mu.Lock()
	t.retired = true
	idle := t.active == 0
	t.mu.Unlock()
	if idle {
		_ = t.conn.Close()
	}
}

// errStreams is a failure to open a connection's streams: the tunnel is
// gone, and another may serve the connection.
var errStreams = errors.New("opening the streams of a connection")

// forward copies between a local connection and the pod's port, as
// kubectl port-forward does: an error stream, which the kubelet writes to
// when it cannot reach the port, and a data stream.
func (t *tunnel) forward(local net.Conn) error {
	headers := http.Header{}
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	headers.Set(corev1.PortHeader, strconv.Itoa(int(t.ep.Port)))
	headers.Set(corev1.PortForwardRequestIDHeader, strconv.FormatInt(t.requests.Add(1), 10))
	errorStream, err := t.conn.CreateStream(headers)
	if err != nil {
		return fmt.Errorf("%w: %v", errStreams, err)
	}
	// Nothing is written to it.
	_ = errorStream.Close()
	defer t.conn.RemoveStreams(errorStream)
	remoteErr := make(chan error, 1)
	go func() {
		msg, err := io.ReadAll(errorStream)
		switch {
		case err != nil:
			remoteErr <- err
		case len(msg) > 0:
			remoteErr <- errors.New(strings.TrimSpace(string(msg)))
		default:
			remoteErr <- nil
		}
	}()
	headers.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := t.conn.CreateStream(headers)
	if err != nil {
		return fmt.Errorf("%w: %v", errStreams, err)
	}
	defer t.conn.RemoveStreams(data)

	remoteDone := make(chan struct{})
	localDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(local, data)
		close(remoteDone)
	}()
	go func() {
		// Tell the pod nothing more comes once the local side is done.
		defer func() { _ = data.Close() }()
		if _, err := io.Copy(data, local); err != nil {
			close(localDone)
		}
	}()
	select {
	case <-remoteDone:
	case <-localDone:
	}
	// Reset before reading the error stream: unsent data would hold it up.
	_ = data.Reset()
	return <-remoteErr
}
