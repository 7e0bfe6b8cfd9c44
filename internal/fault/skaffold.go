package fault

import "github.com/hoist-dev/hoist/api/skaffold/enums"

// SkaffoldCode is what a hoist code is in Skaffold's Event API (the
// proto.enums package): the StatusCode of an ActionableErr and the
// SuggestionCode of its suggestions.
type SkaffoldCode struct {
	Status     enums.StatusCode
	Suggestion enums.SuggestionCode
}

// Skaffold maps every code of Catalog to Skaffold's codes, for the
// translation of hoist's events into Skaffold's v1 and v2 events
// (internal/skaffoldapi). A code with no Skaffold equivalent maps to the
// unknown code of the phase it belongs to (BUILD_UNKNOWN, DEPLOY_UNKNOWN,
// INIT_UNKNOWN, ...). Unknown and Canceled are reported in every phase:
// the translation replaces their status with the unknown or canceled code
// of the phase that reports them. A new code of Catalog needs a line here
// (a test checks).
var Skaffold = map[Code]SkaffoldCode{
	Unknown:         {enums.StatusCode_UNKNOWN_ERROR, enums.SuggestionCode_OPEN_ISSUE},
	Canceled:        {enums.StatusCode_STATUSCHECK_USER_CANCELLED, enums.SuggestionCode_NIL},
	UsageInvalid:    {enums.StatusCode_INIT_UNKNOWN, enums.SuggestionCode_NIL},
	ConfigNotFound:  {enums.StatusCode_CONFIG_FILE_NOT_FOUND_ERR, enums.SuggestionCode_CONFIG_CHECK_FILE_PATH},
	ConfigInvalid:   {enums.StatusCode_CONFIG_FILE_PARSING_ERR, enums.SuggestionCode_NIL},
	ConfigUnsupport: {enums.StatusCode_INIT_UNKNOWN, enums.SuggestionCode_NIL},

	TagFailed:                {enums.StatusCode_INIT_CREATE_TAGGER_ERROR, enums.SuggestionCode_NIL},
	BuildDockerfileMissing:   {enums.StatusCode_BUILD_DOCKERFILE_NOT_FOUND, enums.SuggestionCode_FIX_SKAFFOLD_CONFIG_DOCKERFILE},
	BuildDockerfileSyntax:    {enums.StatusCode_BUILD_USER_ERROR, enums.SuggestionCode_FIX_USER_BUILD_ERR},
	BuildRunFailed:           {enums.StatusCode_BUILD_USER_ERROR, enums.SuggestionCode_FIX_USER_BUILD_ERR},
	BuildBaseImageNotFound:   {enums.StatusCode_BUILD_DOCKER_ERROR_NOT_FOUND, enums.SuggestionCode_FIX_USER_BUILD_ERR},
	BuildDockerFailed:        {enums.StatusCode_BUILD_DOCKER_UNKNOWN, enums.SuggestionCode_DOCKER_BUILD_RETRY},
	BuildContextMissing:      {enums.StatusCode_BUILD_USER_ERROR, enums.SuggestionCode_FIX_USER_BUILD_ERR},
	BuildCustomCommandFail:   {enums.StatusCode_BUILD_USER_ERROR, enums.SuggestionCode_FIX_USER_BUILD_ERR},
	BuildCustomCommandStart:  {enums.StatusCode_BUILD_USER_ERROR, enums.SuggestionCode_FIX_USER_BUILD_ERR},
	BuildImageNotFound:       {enums.StatusCode_BUILD_REGISTRY_GET_DIGEST_ERR, enums.SuggestionCode_FIX_USER_BUILD_ERR},
	BuildRegistryRefused:     {enums.StatusCode_BUILD_PUSH_ACCESS_DENIED, enums.SuggestionCode_DOCKER_AUTH_CONFIGURE},
	BuildRegistryUnreachable: {enums.StatusCode_BUILD_UNKNOWN, enums.SuggestionCode_CHECK_DEFAULT_REPO},
	BuildDockerUnreachable:   {enums.StatusCode_BUILD_DOCKER_DAEMON_NOT_RUNNING, enums.SuggestionCode_CHECK_DOCKER_RUNNING},
	BuildHookFailed:          {enums.StatusCode_BUILD_UNKNOWN, enums.SuggestionCode_NIL},
	TestFailed:               {enums.StatusCode_TEST_CUSTOM_CMD_RUN_NON_ZERO_EXIT_ERR, enums.SuggestionCode_CHECK_CUSTOM_COMMAND},
	TestTimedOut:             {enums.StatusCode_TEST_CUSTOM_CMD_RUN_TIMEDOUT_ERR, enums.SuggestionCode_FIX_CUSTOM_COMMAND_TIMEOUT},

	DeployNoDeployer:         {enums.StatusCode_INIT_CREATE_DEPLOYER_ERROR, enums.SuggestionCode_NIL},
	DeployArtifactsInvalid:   {enums.StatusCode_DEPLOY_NO_MATCHING_BUILD, enums.SuggestionCode_NIL},
	DeployHookFailed:         {enums.StatusCode_DEPLOY_UNKNOWN, enums.SuggestionCode_NIL},
	DeployRendererMissing:    {enums.StatusCode_DEPLOY_UNKNOWN, enums.SuggestionCode_NIL},
	DeployChartInvalid:       {enums.StatusCode_DEPLOY_HELM_USER_ERR, enums.SuggestionCode_NIL},
	DeployHelmFailed:         {enums.StatusCode_DEPLOY_HELM_USER_ERR, enums.SuggestionCode_NIL},
	DeployManifestNotFound:   {enums.StatusCode_CONFIG_MISSING_MANIFEST_FILE_ERR, enums.SuggestionCode_CONFIG_FIX_MISSING_MANIFEST_FILE},
	DeployManifestInvalid:    {enums.StatusCode_DEPLOY_READ_MANIFEST_ERR, enums.SuggestionCode_NIL},
	DeployClusterUnreachable: {enums.StatusCode_DEPLOY_CLUSTER_CONNECTION_ERR, enums.SuggestionCode_CHECK_CLUSTER_CONNECTION},
	DeployUnknownKind:        {enums.StatusCode_DEPLOY_KUBECTL_USER_ERR, enums.SuggestionCode_NIL},
	DeployNamespaceMissing:   {enums.StatusCode_DEPLOY_KUBECTL_USER_ERR, enums.SuggestionCode_NIL},
	DeployApplyFailed:        {enums.StatusCode_DEPLOY_KUBECTL_USER_ERR, enums.SuggestionCode_NIL},
	DeployDeleteFailed:       {enums.StatusCode_DEPLOY_CLEANUP_ERR, enums.SuggestionCode_NIL},
	DeployKubeconfigInvalid:  {enums.StatusCode_DEPLOY_CLUSTER_CONNECTION_ERR, enums.SuggestionCode_CHECK_CLUSTER_CONNECTION},

	StatusCheckFailed:           {enums.StatusCode_STATUSCHECK_UNKNOWN, enums.SuggestionCode_CHECK_CONTAINER_LOGS},
	StatusCheckDeadline:         {enums.StatusCode_STATUSCHECK_DEADLINE_EXCEEDED, enums.SuggestionCode_NIL},
	StatusCheckImagePull:        {enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR, enums.SuggestionCode_CHECK_CONTAINER_IMAGE},
	StatusCheckCrashLoop:        {enums.StatusCode_STATUSCHECK_CONTAINER_RESTARTING, enums.SuggestionCode_CHECK_CONTAINER_LOGS},
	StatusCheckUnschedulable:    {enums.StatusCode_STATUSCHECK_FAILED_SCHEDULING, enums.SuggestionCode_ADDRESS_FAILED_SCHEDULING},
	StatusCheckProgressDeadline: {enums.StatusCode_STATUSCHECK_DEADLINE_EXCEEDED, enums.SuggestionCode_NIL},

	DevWatchFailed: {enums.StatusCode_DEVINIT_REGISTER_BUILD_DEPS, enums.SuggestionCode_NIL},
	SyncFailed:     {enums.StatusCode_SYNC_UNKNOWN, enums.SuggestionCode_NIL},

	EventRPCListen:      {enums.StatusCode_INIT_UNKNOWN, enums.SuggestionCode_NIL},
	EventRPCUnreachable: {enums.StatusCode_UNKNOWN_ERROR, enums.SuggestionCode_NIL},
	EventRPCUndelivered: {enums.StatusCode_UNKNOWN_ERROR, enums.SuggestionCode_NIL},
	EventsUnreachable:   {enums.StatusCode_UNKNOWN_ERROR, enums.SuggestionCode_NIL},
	EventsRunNotFound:   {enums.StatusCode_UNKNOWN_ERROR, enums.SuggestionCode_NIL},
	EventsUnauthorized:  {enums.StatusCode_UNKNOWN_ERROR, enums.SuggestionCode_NIL},

	CollectorStoreFailed: {enums.StatusCode_INIT_UNKNOWN, enums.SuggestionCode_NIL},
	CollectorListen:      {enums.StatusCode_INIT_UNKNOWN, enums.SuggestionCode_NIL},
	CollectorTLSInvalid:  {enums.StatusCode_INIT_UNKNOWN, enums.SuggestionCode_NIL},

	EventLogFileFailed: {enums.StatusCode_UNKNOWN_ERROR, enums.SuggestionCode_NIL},
	EventLogFileParse:  {enums.StatusCode_UNKNOWN_ERROR, enums.SuggestionCode_NIL},
}

// SkaffoldOf returns Skaffold's codes for code: its line of Skaffold, or
// UNKNOWN_ERROR for a code that is not in the catalog.
func SkaffoldOf(code Code) SkaffoldCode {
	if s, ok := Skaffold[code]; ok {
		return s
	}
	return SkaffoldCode{Status: enums.StatusCode_UNKNOWN_ERROR}
}
