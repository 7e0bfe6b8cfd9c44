package docker

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-connections/nat"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// loopback is the only host address a container's port is published on.
const loopback = "127.0.0.1"

// portsOf returns the portForward entries that publish a port of the
// container of image: those of resourceType container whose resourceName
// is the image name, compared without regard to case as Skaffold does.
func portsOf(pfs []*config.PortForward, image string) []*config.PortForward {
	var out []*config.PortForward
	for _, pf := range pfs {
		if strings.EqualFold(pf.Type, config.ContainerPortType) && strings.EqualFold(pf.Name, image) {
			out = append(out, pf)
		}
	}
	return out
}

// bindings turns the portForward entries of a container into the ports it
// exposes and their bindings on the host: each TCP port on 127.0.0.1, at
// localPort, or at a port the engine chooses when localPort is 0. An entry
// with another address, or whose port is not a number, is refused: the
// config loader refuses them first, at their line.
func bindings(image string, pfs []*config.PortForward) (nat.PortSet, nat.PortMap, error) {
	exposed, bound := nat.PortSet{}, nat.PortMap{}
	for _, pf := range pfs {
		if !config.LoopbackAddress(pf.Address) {
			return nil, nil, fault.New(fault.ConfigInvalid,
				fmt.Sprintf("portForward of container %s: a container's port is published on %s only, not on %s", image, loopback, pf.Address),
				"remove address, or set it to "+loopback)
		}
		if pf.Port.Str != "" || pf.Port.Int <= 0 || pf.Port.Int > 65535 {
			return nil, nil, fault.New(fault.ConfigInvalid,
				fmt.Sprintf("portForward of container %s: port %v is not a port number", image, portText(pf.Port)),
				"give the container's port number, such as port: 8080")
		}
		if pf.LocalPort < 0 || pf.LocalPort > 65535 {
			return nil, nil, fault.New(fault.ConfigInvalid,
				fmt.Sprintf("portForward of container %s: localPort %d is not a port number", image, pf.LocalPort),
				"give a local port from 1 to 65535, or none to let the engine choose one")
		}
		p := nat.Port(strconv.Itoa(pf.Port.Int) + "/tcp")
		exposed[p] = struct{}{}
		host := ""
		if pf.LocalPort > 0 {
			host = strconv.Itoa(pf.LocalPort)
		}
		b := nat.PortBinding{HostIP: loopback, HostPort: host}
		if !slices.Contains(bound[p], b) {
			bound[p] = append(bound[p], b)
		}
	}
	return exposed, bound, nil
}

func portText(p config.IntOrString) string {
	if p.Str != "" {
		return strconv.Quote(p.Str)
	}
	return strconv.Itoa(p.Int)
}

// published describes where the engine published a container's ports,
// such as "8080/tcp on 127.0.0.1:9080", in port order.
func published(ports nat.PortMap) string {
	var keys []nat.Port
	for p, bs := range ports {
		if len(bs) > 0 {
			keys = append(keys, p)
		}
	}
	slices.SortFunc(keys, func(a, b nat.Port) int { return a.Int() - b.Int() })
	var parts []string
	for _, p := range keys {
		for _, b := range ports[p] {
			parts = append(parts, fmt.Sprintf("%s on %s:%s", p, b.HostIP, b.HostPort))
		}
	}
	return strings.Join(parts, ", ")
}
