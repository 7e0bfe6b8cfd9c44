// Package fault defines the errors a user sees: each carries a stable code,
// a message, suggestions for what to do, and the exit code of the command it
// ends. Code deep in the pipeline wraps what it knows; the CLI finds the
// fault with errors.As and never matches error strings.
package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Code is a stable, machine-readable error code. Codes appear in events and
// in documentation; once published, a code keeps its meaning.
type Code string

// The codes hoist reports. docs/errors.md lists them with their exit codes.
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

	StatusCheckFailed           Code = "STATUS_CHECK_FAILED"
	StatusCheckDeadline         Code = "STATUS_CHECK_DEADLINE_EXCEEDED"
	StatusCheckImagePull        Code = "STATUS_CHECK_IMAGE_PULL_ERR"
	StatusCheckCrashLoop        Code = "STATUS_CHECK_CRASH_LOOP"
	StatusCheckUnschedulable    Code = "STATUS_CHECK_UNSCHEDULABLE"
	StatusCheckProgressDeadline Code = "STATUS_CHECK_PROGRESS_DEADLINE_EXCEEDED"

	EventRPCListen      Code = "EVENT_RPC_LISTEN_FAILED"
	EventRPCUnreachable Code = "EVENT_RPC_UNREACHABLE"
	EventRPCUndelivered Code = "EVENT_RPC_UNDELIVERED"
	EventsUnreachable   Code = "EVENTS_UNREACHABLE"
	EventsRunNotFound   Code = "EVENTS_RUN_NOT_FOUND"
	EventsUnauthorized  Code = "EVENTS_UNAUTHENTICATED"

	CollectorStoreFailed Code = "COLLECTOR_STORE_FAILED"
	CollectorListen      Code = "COLLECTOR_LISTEN_FAILED"

	EventLogFileFailed Code = "EVENT_LOG_FILE_FAILED"
	EventLogFileParse  Code = "EVENT_LOG_FILE_INVALID"
)

// Exit codes. They are part of hoist's interface: scripts branch on them.
const (
	ExitOK       = 0
	ExitInternal = 1
	ExitConfig   = 2 // the config file or the command line is wrong
	ExitBuild    = 3 // a build failed
	ExitDeploy   = 4 // a deploy failed
	ExitStatus   = 5 // a status check failed
	ExitEvents   = 6 // events could not be read or written
	ExitCanceled = 130
)

// Error is an error a user can act on.
type Error struct {
	Code        Code
	Message     string
	Suggestions []string
	// Exit is the process exit code when this error ends a command.
	Exit int
	// Err is the underlying cause, if any.
	Err error
}

// New returns an Error with the given code, exit code and message.
func New(code Code, exit int, message string, suggestions ...string) *Error {
	return &Error{Code: code, Exit: exit, Message: message, Suggestions: suggestions}
}

// Wrap returns an Error whose message is message and whose cause is err.
func Wrap(err error, code Code, exit int, message string, suggestions ...string) *Error {
	return &Error{Code: code, Exit: exit, Message: message, Suggestions: suggestions, Err: err}
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var f *Error
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// CodeOf returns the code of the first *Error in err's chain, or Unknown.
func CodeOf(err error) Code {
	if f := As(err); f != nil {
		return f.Code
	}
	return Unknown
}

// ExitCode returns the exit code a command ending with err should return.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if f := As(err); f != nil && f.Exit != 0 {
		return f.Exit
	}
	if errors.Is(err, context.Canceled) {
		return ExitCanceled
	}
	return ExitInternal
}

// Format renders err for a terminal: the message, then each suggestion on
// its own line.
func Format(err error) string {
	var b strings.Builder
	f := As(err)
	if f == nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "error [%s]: %v\n", f.Code, err)
	for _, s := range f.Suggestions {
		fmt.Fprintf(&b, "  hint: %s\n", s)
	}
	return b.String()
}
