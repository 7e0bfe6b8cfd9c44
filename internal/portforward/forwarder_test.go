package portforward

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/streaming/pkg/httpstream"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// The forwarder against client-go's fake clientset, with a dialer whose
// connections answer each stream as the pod would: "POD:PORT LINE" for
// each line sent. The real API server, kubelet and pods are in the
// end-to-end tests (internal/cli).

// fakePods dials fake connections and keeps them.
type fakePods struct {
	mu    sync.Mutex
	conns []*fakeConn
	// fail, when set, is the error of every dial.
	fail error
	// refuse, when set, is what the pods say on each connection's error
	// stream, as when nothing listens on the port.
	refuse string
}

func (p *fakePods) dial(namespace, pod string) (httpstream.Connection, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return nil, p.fail
	}
	c := &fakeConn{pod: pod, closed: make(chan bool), refuse: p.refuse}
	p.conns = append(p.conns, c)
	return c, nil
}

func (p *fakePods) set(fail error, refuse string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail, p.refuse = fail, refuse
}

// of returns the connections dialed to pod.
func (p *fakePods) of(pod string) []*fakeConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*fakeConn
	for _, c := range p.conns {
		if c.pod == pod {
			out = append(out, c)
		}
	}
	return out
}

type fakeConn struct {
	pod    string
	refuse string
	once   sync.Once
	closed chan bool
}

func (c *fakeConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *fakeConn) CreateStream(h http.Header) (httpstream.Stream, error) {
	if c.isClosed() {
		return nil, errors.New("connection closed")
	}
	if h.Get(corev1.StreamType) == corev1.StreamTypeError {
		return &pipeStream{Conn: nil, h: h, says: c.refuse}, nil
	}
	local, remote := net.Pipe()
	go func() {
		defer func() { _ = remote.Close() }()
		if c.refuse != "" {
			return
		}
		sc := bufio.NewScanner(remote)
		for sc.Scan() {
			if _, err := fmt.Fprintf(remote, "%s:%s %s\n", c.pod, h.Get(corev1.PortHeader), sc.Text()); err != nil {
				return
			}
		}
	}()
	return &pipeStream{Conn: local, h: h}, nil
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *fakeConn) CloseChan() <-chan bool             { return c.closed }
func (c *fakeConn) SetIdleTimeout(time.Duration)       {}
func (c *fakeConn) RemoveStreams(...httpstream.Stream) {}

// pipeStream is a data stream over a pipe, or with no Conn an error
// stream on which the pod reports nothing.
type pipeStream struct {
	net.Conn
	h    http.Header
	says string
}

func (s *pipeStream) Read(b []byte) (int, error) {
	if s.Conn == nil {
		n := copy(b, s.says)
		s.says = s.says[n:]
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
	return s.Conn.Read(b)
}

func (s *pipeStream) Close() error {
	if s.Conn == nil {
		return nil
	}
	return s.Conn.Close()
}

func (s *pipeStream) Reset() error         { return s.Close() }
func (s *pipeStream) Headers() http.Header { return s.h }
func (s *pipeStream) Identifier() uint32   { return 0 }

// lockedBuffer is what the forwarder tells the user.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// running is a Forwarder running until the test ends.
type testForwarder struct {
	*Forwarder
	events chan *pb.PortEvent
	out    *lockedBuffer
	pods   *fakePods
	client *fake.Clientset
}

func startForwarder(t *testing.T, client *fake.Clientset) *testForwarder {
	t.Helper()
	tf := &testForwarder{events: make(chan *pb.PortEvent, 100), out: &lockedBuffer{}, pods: &fakePods{}, client: client}
	tf.Forwarder = &Forwarder{Out: tf.out, Report: func(e *pb.PortEvent) { tf.events <- e }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		tf.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context was done")
		}
	})
	return tf
}

func (tf *testForwarder) update(targets ...Target) <-chan struct{} {
	return tf.Update(tf.client, tf.pods.dial, targets)
}

func (tf *testForwarder) next(t *testing.T) *pb.PortEvent {
	t.Helper()
	select {
	case e := <-tf.events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatalf("no portEvent; told:\n%s", tf.out)
		return nil
	}
}

// watching waits until the forwarder watches the pods of the namespace, so
// that a change made after it is seen.
func (tf *testForwarder) watching(t *testing.T) {
	t.Helper()
	for range 200 {
		for _, a := range tf.client.Actions() {
			if a.GetVerb() == "watch" && a.GetResource().Resource == "pods" {
				time.Sleep(50 * time.Millisecond) // the watcher registers after the action is recorded
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the forwarder does not watch pods")
}

// exchange sends line through the local address and returns the answer.
func exchange(t *testing.T, addr, line string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintln(c, line); err != nil {
		t.Fatal(err)
	}
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer through %s: %v", addr, err)
	}
	return strings.TrimSpace(answer)
}

func local(e *pb.PortEvent) string {
	return net.JoinHostPort(e.Address, strconv.Itoa(int(e.LocalPort)))
}

func webService() *corev1.Service {
	return service("web", corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")})
}

func TestForwardFollowsItsServiceToANewPod(t *testing.T) {
	tf := startForwarder(t, fake.NewClientset(webService(), pod("web-1", 0, true)))
	tf.update(Target{Type: Service, Name: "web", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1", User: true})
	first := tf.next(t)
	want := &pb.PortEvent{LocalPort: first.LocalPort, RemotePort: 8080, Pod: "web-1", Container: "web", Namespace: "ns",
		ResourceType: "service", ResourceName: "web", Address: "127.0.0.1"}
	if first.String() != want.String() || first.LocalPort == 0 {
		t.Fatalf("first portEvent %v, want %v", first, want)
	}
	if got := exchange(t, local(first), "hello"); got != "web-1:8080 hello" {
		t.Errorf("through the forward: %q", got)
	}
	if !strings.Contains(tf.out.String(), "Forwarding service/web in namespace ns, port 80 -> http://"+local(first)) {
		t.Errorf("told:\n%s", tf.out)
	}

	// The pod is replaced: the forward moves, on the same local port.
	tf.watching(t)
	pods := tf.client.CoreV1().Pods("ns")
	if _, err := pods.Create(t.Context(), pod("web-2", 5, true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(t.Context(), "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	moved := tf.next(t)
	want.Pod = "web-2"
	if moved.String() != want.String() {
		t.Fatalf("after the pod was replaced: %v, want %v", moved, want)
	}
	if got := exchange(t, local(first), "again"); got != "web-2:8080 again" {
		t.Errorf("through the moved forward: %q", got)
	}
	for _, c := range tf.pods.of("web-1") {
		if !c.isClosed() {
			t.Error("the connection to the replaced pod is still open")
		}
	}
	// A new pod that is not better changes nothing: no event.
	if _, err := pods.Create(t.Context(), pod("web-0", -5, true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-tf.events:
		t.Errorf("a portEvent without a move: %v", e)
	case <-time.After(300 * time.Millisecond):
	}

	// Not wanted any more: the local port is closed.
	tf.update()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", local(first))
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the forward still listens after its target was removed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestForwardRedialsWhenThePodConnectionEnds(t *testing.T) {
	tf := startForwarder(t, fake.NewClientset(pod("web-1", 0, true)))
	tf.update(Target{Type: Pod, Name: "web-1", Namespace: "ns", Port: intstr.FromString("metrics"), Address: "127.0.0.1", User: true})
	e := tf.next(t)
	if e.RemotePort != 9090 || e.ResourceType != "pod" {
		t.Fatalf("portEvent %v", e)
	}
	for _, c := range tf.pods.of("web-1") {
		_ = c.Close() // as when the API server restarts
	}
	if got := exchange(t, local(e), "still there"); got != "web-1:9090 still there" {
		t.Errorf("after the connection to the pod ended: %q", got)
	}
	if n := len(tf.pods.of("web-1")); n != 2 {
		t.Errorf("dialed web-1 %d times, want 2", n)
	}
	select {
	case e := <-tf.events:
		t.Errorf("a portEvent for the same pod: %v", e)
	default:
	}
}

func TestAResourceThatNeverAppearsIsToldOnce(t *testing.T) {
	tf := startForwarder(t, fake.NewClientset(webService(), pod("web-1", 0, true)))
	missing := Target{Type: Service, Name: "nope", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1", User: true}
	web := Target{Type: Service, Name: "web", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1", User: true}
	tf.update(missing, web)
	// The other forward goes on.
	if e := tf.next(t); e.ResourceName != "web" {
		t.Fatalf("portEvent %v", e)
	}
	// Each deploy asks again.
	tf.update(missing, web)
	tf.update(missing, web)
	time.Sleep(300 * time.Millisecond)
	told := tf.out.String()
	if n := strings.Count(told, `there is no service "nope" in namespace ns`); n != 1 {
		t.Errorf("told %d times that the service is missing:\n%s", n, told)
	}
	if !strings.Contains(told, "hint: check portForward's resourceType, resourceName and namespace") {
		t.Errorf("no hint:\n%s", told)
	}
	// It appears after all: the forward starts.
	tf.watching(t)
	late := service("nope", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(9090)})
	if _, err := tf.client.CoreV1().Services("ns").Create(t.Context(), late, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tf.update(missing, web)
	if e := tf.next(t); e.ResourceName != "nope" || e.RemotePort != 9090 {
		t.Errorf("portEvent %v", e)
	}
}

func TestATakenLocalPortIsToldAndTheNextOneUsed(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	port := portOf(taken)
	tf := startForwarder(t, fake.NewClientset(webService(), pod("web-1", 0, true)))
	tf.update(Target{Type: Service, Name: "web", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1", LocalPort: port, User: true})
	e := tf.next(t)
	if int(e.LocalPort) == port || e.LocalPort == 0 {
		t.Fatalf("portEvent %v on the taken port", e)
	}
	if want := fmt.Sprintf("local port %d is taken, using %d", port, e.LocalPort); !strings.Contains(tf.out.String(), want) {
		t.Errorf("told:\n%s\nwant %q", tf.out, want)
	}
}

func TestEveryPortOfTheServices(t *testing.T) {
	two := service("web", corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
		corev1.ServicePort{Name: "metrics", Port: 9090})
	tf := startForwarder(t, fake.NewClientset(two, pod("web-1", 0, true)))
	// The config forwards port 80 already: the services mode adds 9090.
	tf.update(Target{Type: Service, Name: "web", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1", User: true},
		Target{Type: Service, Name: "web", Namespace: "ns", Address: "127.0.0.1"})
	got := map[uint32]bool{}
	for range 2 {
		got[tf.next(t).RemotePort] = true
	}
	if !got[8080] || !got[9090] {
		t.Errorf("forwarded remote ports %v, want 8080 and 9090", got)
	}
	select {
	case e := <-tf.events:
		t.Errorf("port 80 forwarded twice: %v", e)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestAPodThatCannotBeReachedIsToldOnceAndTriedAgain(t *testing.T) {
	tf := startForwarder(t, fake.NewClientset(webService(), pod("web-1", 0, true)))
	tf.pods.set(errors.New("pods \"web-1\" is forbidden: cannot create pods/portforward"), "")
	tf.update(Target{Type: Service, Name: "web", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1", User: true})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tf.out.String(), "cannot connect to pod web-1") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// A retry fails the same way, and is not told again.
	time.Sleep(retryAfter + 500*time.Millisecond)
	if n := strings.Count(tf.out.String(), "cannot connect to pod web-1"); n != 1 {
		t.Fatalf("told %d times:\n%s", n, tf.out)
	}
	if !strings.Contains(tf.out.String(), "kubectl auth can-i create pods/portforward -n ns") {
		t.Errorf("no hint:\n%s", tf.out)
	}
	tf.pods.set(nil, "")
	if e := tf.next(t); e.Pod != "web-1" {
		t.Errorf("portEvent %v", e)
	}
}

func TestAPortThePodRefusesIsToldOnce(t *testing.T) {
	tf := startForwarder(t, fake.NewClientset(webService(), pod("web-1", 0, true)))
	tf.pods.set(nil, "failed to connect to localhost:8080 inside namespace: connection refused")
	tf.update(Target{Type: Service, Name: "web", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1", User: true})
	e := tf.next(t)
	for range 2 {
		c, err := net.Dial("tcp", local(e))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprintln(c, "hello"); err != nil {
			t.Fatal(err)
		}
		// Closed with nothing sent back; "hello" left unread can make the
		// close a reset.
		if b, err := io.ReadAll(c); len(b) > 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
			t.Errorf("a refused connection read %q, %v; want nothing, closed", b, err)
		}
		_ = c.Close()
	}
	want := "pod web-1, port 8080: failed to connect to localhost:8080 inside namespace: connection refused"
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(tf.out.String(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(tf.out.String(), want); n != 1 {
		t.Errorf("told %d times, want once:\n%s", n, tf.out)
	}
}
