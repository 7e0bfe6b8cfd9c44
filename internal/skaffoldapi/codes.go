package skaffoldapi

import (
	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/fault"
)

// statusCode is Skaffold's StatusCode of err, reported in phase p by
// something that ended with status: the code's line of fault.Skaffold, or
// the unknown or canceled code of p for an error hoist did not classify or
// a cancellation, as Skaffold picks them (errors.unknownErrForPhase).
func statusCode(p phase, status pb.Status, err *pb.Error) enums.StatusCode {
	code := fault.Code(err.GetCode())
	switch {
	case code == fault.Canceled, code == "" && status == pb.Status_CANCELED:
		return canceledCode(p)
	case code == fault.Unknown, code == "":
		return unknownCode(p)
	}
	if s, ok := fault.Skaffold[code]; ok {
		return s.Status
	}
	return unknownCode(p)
}

func unknownCode(p phase) enums.StatusCode {
	switch p {
	case phaseBuild:
		return enums.StatusCode_BUILD_UNKNOWN
	case phaseTest:
		return enums.StatusCode_TEST_UNKNOWN
	case phaseDeploy:
		return enums.StatusCode_DEPLOY_UNKNOWN
	case phaseStatusCheck:
		return enums.StatusCode_STATUSCHECK_UNKNOWN
	case phaseSync:
		return enums.StatusCode_SYNC_UNKNOWN
	case phaseCleanup:
		return enums.StatusCode_CLEANUP_UNKNOWN
	default:
		return enums.StatusCode_UNKNOWN_ERROR
	}
}

func canceledCode(p phase) enums.StatusCode {
	switch p {
	case phaseBuild:
		return enums.StatusCode_BUILD_CANCELLED
	case phaseTest:
		return enums.StatusCode_TEST_CUSTOM_CMD_RUN_CANCELLED_ERR
	case phaseDeploy:
		return enums.StatusCode_DEPLOY_CANCELLED
	default:
		return enums.StatusCode_STATUSCHECK_USER_CANCELLED
	}
}

// suggestion is one suggestion of an ActionableErr.
type suggestion struct {
	code   enums.SuggestionCode
	action string
}

// suggestionsOf are the suggestions of err: hoist's own, each with the
// SuggestionCode of err's code, or, when err has none, the catalog's
// action for its code when that code has a SuggestionCode.
func suggestionsOf(err *pb.Error) []suggestion {
	code := fault.Code(err.GetCode())
	s := fault.SkaffoldOf(code)
	if len(err.GetSuggestions()) == 0 {
		if e, ok := fault.Lookup(code); ok && s.Suggestion != enums.SuggestionCode_NIL {
			return []suggestion{{s.Suggestion, e.Action}}
		}
		return nil
	}
	out := make([]suggestion, len(err.Suggestions))
	for i, a := range err.Suggestions {
		out[i] = suggestion{s.Suggestion, a}
	}
	return out
}

// actionableV1 is the v1 ActionableErr of what ended with status and err
// in phase p: nil when it did not fail.
func actionableV1(p phase, status pb.Status, err *pb.Error) *skaffoldv1.ActionableErr {
	if err == nil && !isFailure(status) {
		return nil
	}
	ae := &skaffoldv1.ActionableErr{ErrCode: statusCode(p, status, err), Message: err.GetMessage()}
	for _, s := range suggestionsOf(err) {
		ae.Suggestions = append(ae.Suggestions, &skaffoldv1.Suggestion{SuggestionCode: s.code, Action: s.action})
	}
	return ae
}

// actionableV2 is the v2 ActionableErr of what ended with status and err
// in phase p: nil when it did not fail.
func actionableV2(p phase, status pb.Status, err *pb.Error) *skaffoldv2.ActionableErr {
	if err == nil && !isFailure(status) {
		return nil
	}
	ae := &skaffoldv2.ActionableErr{ErrCode: statusCode(p, status, err), Message: err.GetMessage()}
	for _, s := range suggestionsOf(err) {
		ae.Suggestions = append(ae.Suggestions, &skaffoldv2.Suggestion{SuggestionCode: s.code, Action: s.action})
	}
	return ae
}
