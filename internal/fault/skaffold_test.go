package fault

import (
	"testing"

	"github.com/hoist-dev/hoist/api/skaffold/enums"
)

// TestSkaffoldMapsEveryCode fails when a code of the catalog has no line in
// Skaffold (or a line names a code the catalog does not hold), and when a
// line names a StatusCode or SuggestionCode that Skaffold's enums do not
// declare, or OK, which is no error.
func TestSkaffoldMapsEveryCode(t *testing.T) {
	for _, e := range Catalog {
		s, ok := Skaffold[e.Code]
		if !ok {
			t.Errorf("%s has no Skaffold StatusCode: add a line to Skaffold in skaffold.go", e.Code)
			continue
		}
		if s.Status == enums.StatusCode_OK {
			t.Errorf("%s maps to StatusCode OK, which is no error", e.Code)
		}
		if _, ok := enums.StatusCode_name[int32(s.Status)]; !ok {
			t.Errorf("%s maps to StatusCode %d, which Skaffold does not declare", e.Code, s.Status)
		}
		if _, ok := enums.SuggestionCode_name[int32(s.Suggestion)]; !ok {
			t.Errorf("%s maps to SuggestionCode %d, which Skaffold does not declare", e.Code, s.Suggestion)
		}
	}
	for code := range Skaffold {
		if _, ok := Lookup(code); !ok {
			t.Errorf("Skaffold maps %s, which the catalog does not hold", code)
		}
	}
}

func TestSkaffoldOf(t *testing.T) {
	tests := []struct {
		code Code
		want enums.StatusCode
	}{
		{BuildDockerUnreachable, enums.StatusCode_BUILD_DOCKER_DAEMON_NOT_RUNNING},
		{DeployClusterUnreachable, enums.StatusCode_DEPLOY_CLUSTER_CONNECTION_ERR},
		{StatusCheckImagePull, enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR},
		{"NOT_A_CODE", enums.StatusCode_UNKNOWN_ERROR},
	}
	for _, tt := range tests {
		if got := SkaffoldOf(tt.code).Status; got != tt.want {
			t.Errorf("SkaffoldOf(%s) = %s, want %s", tt.code, got, tt.want)
		}
	}
}
