package cli

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/build/cache"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/portforward"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/session"
)

// addRunFlags adds the flags of every run: the config file and where the
// events go.
func addRunFlags(cmd *cobra.Command, o *session.Options) {
	f := cmd.Flags()
	f.StringVarP(&o.ConfigFile, "filename", "f", "skaffold.yaml", "path to the skaffold.yaml to use")
	addProfileFlags(cmd, &o.Profiles)
	f.StringVar(&o.Format, "event-format", "", "events on stdout: auto (a live human view on a terminal, JSON lines in a pipe or a file), json (event lines only; logs go to stderr) or text (the human view) (default from event.log.format, else auto)")
	f.StringVar(&o.Level, "event-level", "", "lowest event level on stdout: debug, info, warn, error (default from event.log.level, else info)")
	f.StringVar(&o.LogFile, "event-log-file", "", "append every event to this file as JSON lines, as it happens (default from event.log.file)")
	f.StringVar(&o.SkaffoldLogFile, "skaffold-event-log-file", "",
		"also append every event, in Skaffold's v1 API, to this file, and in its v2 API to this file with .v2 appended, as it happens (as skaffold --event-log-file writes at exit)")
	f.StringVar(&o.Push.Address, "event-rpc-address", "", "push every event to this EventSinkService, such as hoist collector: host:port, or an http(s):// URL (default from event.rpc.address)")
	f.StringVar(&o.Push.Token, "event-rpc-token", os.Getenv("HOIST_EVENT_RPC_TOKEN"), "bearer token for --event-rpc-address (default $HOIST_EVENT_RPC_TOKEN)")
	f.StringVar(&o.Push.CAFile, "event-rpc-ca", "", "CA bundle that verifies an https:// --event-rpc-address")
	f.DurationVar(&o.Push.FlushTimeout, "event-rpc-flush-timeout", 10*time.Second, "at exit, how long to wait for the pushed events to be acknowledged")
}

// addProfileFlags adds the flags that choose the config's profiles.
func addProfileFlags(cmd *cobra.Command, o *session.ProfileOptions) {
	f := cmd.Flags()
	f.StringSliceVarP(&o.Names, "profile", "p", nil, "activate these profiles, in this order, after those that activate themselves; -p -name deactivates one")
	f.BoolFunc("profile-auto-activation", "activate the profiles whose activation matches; =false leaves them to -p", func(s string) error {
		on, err := strconv.ParseBool(s)
		o.NoAutoActivation = !on
		return err
	})
	f.Lookup("profile-auto-activation").DefValue = "true"
	f.StringSliceVarP(&o.Modules, "module", "m", nil, "only the configs with these metadata.names, and the configs they require")
}

// addArtifactsFlags adds the flags that name artifacts built earlier, for
// commands that verb them.
func addArtifactsFlags(cmd *cobra.Command, a *session.Artifacts, verb string) {
	cmd.Flags().StringVarP(&a.File, "build-artifacts", "a", "", "file of built artifacts, as written by hoist build --file-output")
	cmd.Flags().StringSliceVarP(&a.Images, "images", "i", nil, "built images to "+verb+": name=reference, or a reference whose name is an artifact's")
}

// addServerFlags adds the flags of the Event API server.
func addServerFlags(cmd *cobra.Command, o *session.ServerOptions) {
	f := cmd.Flags()
	f.IntVar(&o.Port, "rpc-port", 0, "serve the Event API (gRPC, and JSON over HTTP), and Skaffold's v1 and v2 gRPC APIs, on this port; 0 serves none, unless --rpc-http-port or --enable-rpc asks for them: then on a free port")
	f.IntVar(&o.HTTPPort, "rpc-http-port", 0, "serve Skaffold's HTTP API (/v1/events, /v2/events, /v2/state, ... as Skaffold's gateway does) on this port; 0 serves none")
	f.BoolVar(&o.EnableRPC, "enable-rpc", false, "serve the Event API even without --rpc-port or --rpc-http-port, on a free port (as Skaffold's flag of that name; the ports imply it)")
	f.StringVar(&o.Bind, "rpc-bind", "127.0.0.1", "address the Event API listens on, on --rpc-port and --rpc-http-port; one beyond this machine (not 127.0.0.0/8, ::1 or localhost) needs --rpc-token, or --rpc-insecure")
	f.StringVar(&o.Token, "rpc-token", os.Getenv("HOIST_RPC_TOKEN"), "require this bearer token on every request to the Event API, reads and control alike (default $HOIST_RPC_TOKEN)")
	f.BoolVar(&o.Insecure, "rpc-insecure", false, "serve the Event API on a --rpc-bind beyond this machine without --rpc-token, with a warning: anyone who reaches the port can read the run and, in hoist dev, trigger builds and deploys")
	f.StringVar(&o.TLSCert, "rpc-tls-cert", "", "serve the Event API over TLS with this certificate (PEM); needs --rpc-tls-key")
	f.StringVar(&o.TLSKey, "rpc-tls-key", "", "the private key of --rpc-tls-cert (PEM)")
	f.DurationVar(&o.Linger, "rpc-linger", 3*time.Second, "after the run ends, keep serving the Event API this long for clients that have not connected yet, and for those that fell behind to resume")
	f.DurationVar(&o.DrainTimeout, "rpc-drain-timeout", rpc.DefaultDrainTimeout, "after the run ends, wait at most this long for connected subscribers to receive every event; those still behind are told where to resume")
	f.BoolVar(&o.WaitForConnection, "wait-for-connection", false, "before starting, wait for a first Event API subscriber (see --wait-for-connection-timeout)")
	f.DurationVar(&o.WaitTimeout, "wait-for-connection-timeout", time.Minute, "how long --wait-for-connection waits")
}

// buildFlags are the flags that choose how artifacts are built; push is
// kept apart to tell an explicit --push=false from none.
type buildFlags struct {
	session.BuildOptions
	push bool
}

func (o *buildFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.DefaultRepo, "default-repo", "d", os.Getenv("SKAFFOLD_DEFAULT_REPO"), "prefix image names with this registry/repository")
	f.BoolVar(&o.push, "push", false, "push the built images (default from build.local.push)")
	f.StringVarP(&o.Tag, "tag", "t", "", "tag every image with this tag instead of the tag policy's")
	f.StringVar(&o.ArtifactsFile, "file-output", "", "write the built artifacts to this file as JSON, for hoist deploy --build-artifacts")
	f.BoolVar(&o.UseCache, "cache-artifacts", true, "skip building artifacts whose inputs are unchanged and whose image still exists")
	f.StringVar(&o.CacheFile, "cache-file", cache.DefaultPath(), "where the artifact cache is kept")
	if cmd.Name() != "build" {
		f.BoolVar(&o.SkipTests, "skip-tests", false, "do not run the tests (test[] of skaffold.yaml) between the build and the deploy")
	}
}

// options returns the build options of the parsed flags.
func (o *buildFlags) options(cmd *cobra.Command) session.BuildOptions {
	b := o.BuildOptions
	b.Push = changed(cmd, "push", o.push)
	return b
}

// deployFlags are the flags that choose the cluster and the checks.
type deployFlags struct {
	session.DeployOptions
	statusCheck, tolerate bool
}

func (o *deployFlags) add(cmd *cobra.Command, withStatus bool) {
	f := cmd.Flags()
	f.StringVar(&o.KubeContext, "kube-context", "", "kubeconfig context to deploy to (default: the current context)")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.Namespace, "namespace", "n", "", "namespace for objects that name none (default: deploy.kubectl.defaultNamespace, then the context's)")
	if withStatus {
		f.BoolVar(&o.statusCheck, "status-check", true, "wait for deployed workloads to be ready (default from deploy.statusCheck)")
		f.BoolVar(&o.tolerate, "tolerate-failures-until-deadline", false,
			"keep the status check waiting through image pull errors and crash loops until the deadline (default from deploy.tolerateFailuresUntilDeadline)")
		// As in Skaffold: on by default in dev only.
		dev := cmd.Name() == "dev"
		usage := "follow the logs of the deployed pods, each line an applicationLogEvent, until Ctrl-C"
		if dev {
			usage = "follow the logs of the deployed pods, each line an applicationLogEvent"
		}
		f.BoolVar(&o.Tail, "tail", dev, usage)
	}
}

// addLabels adds Skaffold's -l/--label, for the commands that deploy or
// render.
func (o *deployFlags) addLabels(cmd *cobra.Command) {
	cmd.Flags().VarP(&labelsFlag{labels: &o.Labels}, "label", "l",
		"add this label (key=value) to every deployed object and its pod template (containers of deploy.docker too); repeat, or separate with commas, for more")
}

// addWaitForDeletions adds Skaffold's --wait-for-deletions flags, for the
// commands that deploy the config's manifests.
func (o *deployFlags) addWaitForDeletions(cmd *cobra.Command) {
	f := cmd.Flags()
	w := &o.WaitForDeletions
	f.BoolVar(&w.Enabled, "wait-for-deletions", true, "before deploying, wait for objects of the manifests (deploy.kubectl) that are still being deleted to be gone")
	f.DurationVar(&w.Max, "wait-for-deletions-max", 60*time.Second, "how long --wait-for-deletions waits at most before the deploy fails")
	f.DurationVar(&w.Delay, "wait-for-deletions-delay", 2*time.Second, "time between two checks of --wait-for-deletions")
}

// labelsFlag reads each --label as it is given, so that a bad one is a
// usage error that names the flag (pflag keeps the error in its chain).
type labelsFlag struct {
	labels *map[string]string
	given  []string
}

func (f *labelsFlag) Set(v string) error {
	// A label value holds no comma: Skaffold's list form splits safely.
	for item := range strings.SplitSeq(v, ",") {
		key, value, err := deploy.ParseLabel(item)
		if err != nil {
			return err
		}
		if *f.labels == nil {
			*f.labels = map[string]string{}
		}
		(*f.labels)[key] = value
		f.given = append(f.given, item)
	}
	return nil
}

func (f *labelsFlag) String() string { return strings.Join(f.given, ",") }
func (f *labelsFlag) Type() string   { return "key=value" }

// cluster is r with the cluster of the flags, which profiles' kubeContext
// activations match.
func (o *deployFlags) cluster(r session.Options) session.Options {
	r.Profiles.Kubeconfig, r.Profiles.KubeContext = o.Kubeconfig, o.KubeContext
	return r
}

// options returns the deploy options of the parsed flags.
func (o *deployFlags) options(cmd *cobra.Command) session.DeployOptions {
	d := o.DeployOptions
	d.StatusCheck = changed(cmd, "status-check", o.statusCheck)
	d.TolerateFailures = changed(cmd, "tolerate-failures-until-deadline", o.tolerate)
	return d
}

// addPortForwardFlag adds --port-forward with Skaffold's values and
// defaults: def is user for hoist dev, off for run and deploy; the flag
// given alone means true (user and services).
func addPortForwardFlag(cmd *cobra.Command, m *portforward.Modes, def string) {
	_ = m.Set(def)
	f := cmd.Flags()
	f.Var(m, "port-forward", "forward local ports to what is deployed: user (the config's portForward entries), services (every Service deployed), "+
		"pods (every container port deployed), off, or several separated by commas; true means user,services. "+
		"hoist run and deploy then keep forwarding until Ctrl-C")
	f.Lookup("port-forward").NoOptDefVal = "true"
}

// changed is &v when the flag name was given, else nil: the config decides.
func changed(cmd *cobra.Command, name string, v bool) *bool {
	if f := cmd.Flags().Lookup(name); f == nil || !f.Changed {
		return nil
	}
	return &v
}

// runOptions are o with the streams, the logger and the colors of the
// command.
func runOptions(cmd *cobra.Command, o session.Options, s Streams, log *slog.Logger) session.Options {
	o.Out, o.Err, o.Log = s.Out, s.Err, log
	o.Color = colorOf(cmd)
	return o
}

// colorOf is the root's --color, or always with Skaffold's hidden
// --force-colors.
func colorOf(cmd *cobra.Command) string {
	if force, _ := cmd.Flags().GetBool("force-colors"); force {
		return "always"
	}
	c, _ := cmd.Flags().GetString("color")
	return c
}
