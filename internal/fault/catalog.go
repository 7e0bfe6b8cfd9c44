package fault

//go:generate go run ./gendoc -o ../../docs/errors.md

// Code is a stable, machine-readable error code. Codes appear in events and
// in documentation; once published, a code keeps its meaning.
type Code string

// Exit codes. They are part of hoist's interface: scripts branch on them.
const (
	ExitOK       = 0
	ExitInternal = 1
	ExitConfig   = 2 // the config file or the command line is wrong
	ExitBuild    = 3 // a build failed
	ExitDeploy   = 4 // a deploy failed
	ExitStatus   = 5 // a status check failed
	ExitEvents   = 6 // events could not be read, written, served or stored
	ExitTest     = 7 // a test failed
	ExitCanceled = 130
)

// The codes hoist reports, each described in Catalog.
const (
	Unknown         Code = "UNKNOWN"
	Canceled        Code = "CANCELED"
	ConfigNotFound  Code = "CONFIG_NOT_FOUND"
	ConfigInvalid   Code = "CONFIG_INVALID"
	ConfigUnsupport Code = "CONFIG_UNSUPPORTED"
	UsageInvalid    Code = "USAGE_INVALID"

	TagFailed Code = "BUILD_TAG_FAILED"

	BuildDockerfileMissing   Code = "BUILD_DOCKERFILE_MISSING"
	BuildDockerfileSyntax    Code = "BUILD_DOCKERFILE_SYNTAX"
	BuildRunFailed           Code = "BUILD_RUN_FAILED"
	BuildBaseImageNotFound   Code = "BUILD_BASE_IMAGE_NOT_FOUND"
	BuildDockerFailed        Code = "BUILD_DOCKER_FAILED"
	BuildContextMissing      Code = "BUILD_CONTEXT_MISSING"
	BuildCustomCommandFail   Code = "BUILD_CUSTOM_COMMAND_FAILED"
	BuildCustomCommandStart  Code = "BUILD_CUSTOM_COMMAND_START_FAILED"
	BuildImageNotFound       Code = "BUILD_IMAGE_NOT_FOUND"
	BuildRegistryRefused     Code = "BUILD_REGISTRY_REFUSED"
	BuildRegistryUnreachable Code = "BUILD_REGISTRY_UNREACHABLE"
	BuildDockerUnreachable   Code = "BUILD_DOCKER_DAEMON_UNREACHABLE"
	BuildHookFailed          Code = "BUILD_HOOK_FAILED"
	TestFailed               Code = "TEST_FAILED"
	TestTimedOut             Code = "TEST_TIMED_OUT"

	DeployManifestNotFound   Code = "DEPLOY_MANIFEST_NOT_FOUND"
	DeployManifestInvalid    Code = "DEPLOY_MANIFEST_INVALID"
	DeployClusterUnreachable Code = "DEPLOY_CLUSTER_UNREACHABLE"
	DeployUnknownKind        Code = "DEPLOY_UNKNOWN_KIND"
	DeployNamespaceMissing   Code = "DEPLOY_NAMESPACE_MISSING"
	DeployApplyFailed        Code = "DEPLOY_APPLY_FAILED"
	DeployDeleteFailed       Code = "DEPLOY_DELETE_FAILED"
	DeployKubeconfigInvalid  Code = "DEPLOY_KUBECONFIG_INVALID"
	DeployNoDeployer         Code = "DEPLOY_NO_DEPLOYER"
	DeployArtifactsInvalid   Code = "DEPLOY_BUILD_ARTIFACTS_INVALID"
	DeployHookFailed         Code = "DEPLOY_HOOK_FAILED"
	DeployRendererMissing    Code = "DEPLOY_RENDERER_MISSING"
	DeployChartInvalid       Code = "DEPLOY_CHART_INVALID"
	DeployHelmFailed         Code = "DEPLOY_HELM_FAILED"
	DeployDeletionPending    Code = "DEPLOY_DELETION_PENDING"

	StatusCheckFailed           Code = "STATUS_CHECK_FAILED"
	StatusCheckDeadline         Code = "STATUS_CHECK_DEADLINE_EXCEEDED"
	StatusCheckImagePull        Code = "STATUS_CHECK_IMAGE_PULL_ERR"
	StatusCheckCrashLoop        Code = "STATUS_CHECK_CRASH_LOOP"
	StatusCheckUnschedulable    Code = "STATUS_CHECK_UNSCHEDULABLE"
	StatusCheckProgressDeadline Code = "STATUS_CHECK_PROGRESS_DEADLINE_EXCEEDED"

	DevWatchFailed Code = "DEV_WATCH_FAILED"
	SyncFailed     Code = "SYNC_FAILED"

	EventRPCListen      Code = "EVENT_RPC_LISTEN_FAILED"
	EventRPCUnprotected Code = "EVENT_RPC_UNPROTECTED"
	EventRPCTLSInvalid  Code = "EVENT_RPC_TLS_INVALID"
	EventRPCUnreachable Code = "EVENT_RPC_UNREACHABLE"
	EventRPCUndelivered Code = "EVENT_RPC_UNDELIVERED"
	EventsUnreachable   Code = "EVENTS_UNREACHABLE"
	EventsRunNotFound   Code = "EVENTS_RUN_NOT_FOUND"
	EventsUnauthorized  Code = "EVENTS_UNAUTHENTICATED"

	CollectorStoreFailed Code = "COLLECTOR_STORE_FAILED"
	CollectorListen      Code = "COLLECTOR_LISTEN_FAILED"
	CollectorTLSInvalid  Code = "COLLECTOR_TLS_INVALID"

	EventLogFileFailed Code = "EVENT_LOG_FILE_FAILED"
	EventLogFileParse  Code = "EVENT_LOG_FILE_INVALID"
)

// Entry is what the catalog says of one code.
type Entry struct {
	Code Code
	// Exit is the exit code of a command that this error ends.
	Exit int
	// Meaning says in one line what went wrong.
	Meaning string
	// Action says in one line what the user can do about it.
	Action string
}

// Catalog is every code hoist reports, in the order docs/errors.md lists
// them. It is the one place that gives a code its exit code.
var Catalog = []Entry{
	{Unknown, ExitInternal, "an error hoist did not classify", "run again with -v debug and report the output as a bug"},
	{Canceled, ExitCanceled, "the run or a build was canceled (Ctrl-C, SIGTERM, or another build failed)", "nothing to fix when you stopped it; otherwise look at the error that stopped the rest"},
	{UsageInvalid, ExitConfig, "a flag is wrong", "see the command's --help"},
	{ConfigNotFound, ExitConfig, "the config file does not exist", "pass the config with -f, or run hoist in the project's folder"},
	{ConfigInvalid, ExitConfig, "the config file is wrong; the message starts with `file:line:column`", "fix the field the message names; the hint names the field that was likely meant"},
	{ConfigUnsupport, ExitConfig, "a Skaffold field or builder hoist does not support yet", "use a builder or deployer hoist supports (docker, custom; kubectl, helm, docker)"},

	{TagFailed, ExitBuild, "the tag policy could not compute a tag", "check build.tagPolicy and what it reads (git repository, environment variables)"},
	{BuildDockerfileMissing, ExitBuild, "an artifact's Dockerfile does not exist", "fix docker.dockerfile, which is relative to the artifact's context"},
	{BuildDockerfileSyntax, ExitBuild, "the Docker engine could not parse the Dockerfile", "fix the Dockerfile line the message names"},
	{BuildRunFailed, ExitBuild, "a Dockerfile step's command failed; the message has the step, its exit status and the last lines", "read the build log of the failing step above the error"},
	{BuildBaseImageNotFound, ExitBuild, "the `FROM` image could not be pulled", "check the image name, and that its registry is reachable and logged in"},
	{BuildDockerFailed, ExitBuild, "another Docker build failure; the message has the step and the last lines", "read the engine's message; check its disk space and logs"},
	{BuildContextMissing, ExitBuild, "an artifact's context folder does not exist", "fix the artifact's context, which is relative to skaffold.yaml"},
	{BuildCustomCommandFail, ExitBuild, "a custom build command failed; the message has its exit status and last lines", "run the buildCommand by hand with $IMAGE set, and read its output"},
	{BuildCustomCommandStart, ExitBuild, "a custom build command could not start", "check that buildCommand exists and is executable"},
	{BuildImageNotFound, ExitBuild, "the built image is not where it should be (registry or local engine)", "make the custom build command build (and push, if asked) $IMAGE"},
	{BuildRegistryRefused, ExitBuild, "the registry refused a request", "log in to the registry, or check the repository name and --default-repo"},
	{BuildRegistryUnreachable, ExitBuild, "the registry could not be reached", "check the registry's address and that it is up"},
	{BuildDockerUnreachable, ExitBuild, "the Docker engine could not be reached", "start Docker, or point DOCKER_HOST at a running engine"},
	{TestFailed, ExitTest, "a custom test (`test[].custom`) exited with a failure; the message has its command, exit status and last lines", "run the command by hand in the test's context with IMAGE set to the image"},
	{TestTimedOut, ExitTest, "a custom test ran longer than its `timeoutSeconds`", "raise timeoutSeconds, or find why the test hangs"},
	{BuildHookFailed, ExitBuild, "a build hook (`build.hooks` or `build.artifacts[].hooks`) failed; the message has its command, exit status and last lines", "run the hook's command by hand in its dir"},

	{DeployNoDeployer, ExitConfig, "the config has no deployer (`deploy.kubectl`, `deploy.helm` or `deploy.docker`), or `hoist render` finds no manifests", "add deploy.kubectl with its manifests, deploy.helm with its releases, or deploy.docker with the images to run"},
	{DeployArtifactsInvalid, ExitConfig, "`--build-artifacts` or `--images` is wrong", "write them with hoist build --file-output, or give --images name=reference"},
	{DeployHookFailed, ExitDeploy, "a deploy hook (`deploy.kubectl.hooks`, `deploy.helm.hooks`) or render hook (`manifests.hooks`) failed, or a render hook `withChange` printed no manifests or not Kubernetes objects; the message has its command, exit status and last lines", "run the hook's command by hand, on the host or with kubectl exec; a render hook reads the manifests on its standard input"},
	{DeployRendererMissing, ExitDeploy, "hoist-render, the companion program that renders kustomize and Helm, is missing or does not match hoist", "install it beside hoist with make build or go install github.com/hoist-dev/hoist/cmd/hoist-render, or set HOIST_RENDER"},
	{DeployChartInvalid, ExitDeploy, "a Helm chart could not be loaded or rendered: it does not exist, a values file is not YAML, or a template fails; the message names the release and the file", "fix the chart or the release's values; helm template shows the same error"},
	{DeployHelmFailed, ExitDeploy, "Helm could not install, upgrade or uninstall a release; the message has Helm's error", "read Helm's error; helm history and helm status show the release as Helm left it"},
	{DeployManifestNotFound, ExitDeploy, "a manifest pattern matches no YAML file", "fix the manifest globs, which are relative to skaffold.yaml"},
	{DeployManifestInvalid, ExitDeploy, "a manifest is not valid YAML or not a Kubernetes object; the message has `file:line`", "fix the manifest the message names"},
	{DeployClusterUnreachable, ExitDeploy, "the cluster of the kubeconfig context does not answer; the message names the context and server", "check the kubeconfig context (--kube-context) and that the cluster is up"},
	{DeployUnknownKind, ExitDeploy, "the cluster does not know an object's kind", "install the CRD first, or fix apiVersion and kind"},
	{DeployNamespaceMissing, ExitDeploy, "an object's namespace does not exist", "create the namespace, or deploy with -n to one that exists"},
	{DeployApplyFailed, ExitDeploy, "the API server refused an object, or the Docker engine a container or network of `deploy.docker`", "read the API server's (or the engine's) message; check RBAC and the object's fields, or the container's local ports"},
	{DeployDeleteFailed, ExitDeploy, "an object, container or network could not be deleted", "delete it with kubectl (or docker rm, docker network rm), or run hoist delete again"},
	{DeployDeletionPending, ExitDeploy, "objects of the manifests were still being deleted (terminating) when `--wait-for-deletions-max` ran out; the message names them", "see what holds them (kubectl get -o yaml: finalizers; a namespace's status), wait longer with --wait-for-deletions-max, or skip the wait with --wait-for-deletions=false"},
	{DeployKubeconfigInvalid, ExitDeploy, "the kubeconfig or the chosen context is wrong", "check --kubeconfig, $KUBECONFIG and --kube-context"},

	{StatusCheckFailed, ExitStatus, "a pod failed, a container of `deploy.docker` exited or became unhealthy (the message has its exit code and last lines), or the resource could not be watched", "read the resource's status events; kubectl describe it, or read the container's output with docker logs"},
	{StatusCheckDeadline, ExitStatus, "a resource was not ready within `statusCheckDeadlineSeconds`", "raise the deadline, or find why the pods are slow to start"},
	{StatusCheckImagePull, ExitStatus, "a pod could not pull its image (at the first error; at the deadline with `tolerateFailuresUntilDeadline`)", "check the image reference, and that the cluster can reach and log in to its registry"},
	{StatusCheckCrashLoop, ExitStatus, "a container kept exiting (at the first CrashLoopBackOff; at the deadline with `tolerateFailuresUntilDeadline`)", "read the container's logs (kubectl logs --previous)"},
	{StatusCheckUnschedulable, ExitStatus, "a pod could not be scheduled before the deadline", "check the pod's resource requests, node selectors and taints"},
	{StatusCheckProgressDeadline, ExitStatus, "a Deployment reported ProgressDeadlineExceeded", "describe the Deployment and its newest ReplicaSet"},

	{DevWatchFailed, ExitInternal, "hoist dev could not watch the project's files", "raise fs.inotify.max_user_watches, or watch fewer folders"},
	{SyncFailed, ExitDeploy, "hoist dev could not copy changed files into a running container (`sync`): no running container of the image, no `tar` in the image, or the exec failed; hoist rebuilds instead", "nothing to do for a container that was replaced; otherwise add tar to the image, or check that exec into its pods is allowed"},

	{EventRPCListen, ExitEvents, "`--rpc-port` could not be served", "choose a free port with --rpc-port"},
	{EventRPCUnprotected, ExitConfig, "`--rpc-bind` reaches beyond this machine and no `--rpc-token` protects the Event API: anyone who reached the port could read the run and, in hoist dev, trigger builds and deploys", "give --rpc-token (or $HOIST_RPC_TOKEN), serve on loopback (--rpc-bind 127.0.0.1, the default), or accept the risk with --rpc-insecure"},
	{EventRPCTLSInvalid, ExitConfig, "the Event API's TLS certificate or key (`--rpc-tls-cert`, `--rpc-tls-key`) cannot be loaded", "give --rpc-tls-cert and --rpc-tls-key as PEM files of a certificate and its key"},
	{EventRPCUnreachable, ExitEvents, "the event collector cannot be reached and `event.rpc.required` is true", "start the collector (hoist collector), or fix event.rpc.address"},
	{EventRPCUndelivered, ExitEvents, "events were not acknowledged by the collector in time and `event.rpc.required` is true", "check the collector; raise --event-rpc-flush-timeout for slow links"},
	{EventsUnreachable, ExitEvents, "`hoist events --address` cannot read from that address", "check that hoist runs with --rpc-port (or the collector runs) at that address"},
	{EventsRunNotFound, ExitEvents, "`hoist events --address --run` names a run that the collector (or hoist) does not hold", "list the runs it holds, or open the collector's dashboard"},
	{EventsUnauthorized, ExitEvents, "`hoist events --address` was refused for a missing or wrong `--token`", "pass the collector's token (or the run's --rpc-token) with --token, $HOIST_TOKEN or $HOIST_RPC_TOKEN"},

	{CollectorStoreFailed, ExitEvents, "`hoist collector` cannot open or migrate its store (`--store`)", "check --store: a writable SQLite path, or a reachable postgres:// URL"},
	{CollectorListen, ExitEvents, "`hoist collector` cannot listen on `--listen`, or stopped serving", "choose a free address with --listen"},
	{CollectorTLSInvalid, ExitConfig, "the collector's TLS certificate or key cannot be loaded", "give --tls-cert and --tls-key as PEM files of a certificate and its key"},

	{EventLogFileFailed, ExitEvents, "the event log file could not be opened or written", "check the path and that its folder is writable"},
	{EventLogFileParse, ExitEvents, "`hoist events --file` read a line that is not an event", "pass a file written by --event-log-file"},
}

var byCode = func() map[Code]Entry {
	m := make(map[Code]Entry, len(Catalog))
	for _, e := range Catalog {
		m[e.Code] = e
	}
	return m
}()

// Lookup returns the catalog's entry for code.
func Lookup(code Code) (Entry, bool) {
	e, ok := byCode[code]
	return e, ok
}

// ExitOf is the exit code of code: the catalog's, or ExitInternal for a
// code the catalog does not hold.
func ExitOf(code Code) int {
	if e, ok := byCode[code]; ok {
		return e.Exit
	}
	return ExitInternal
}
