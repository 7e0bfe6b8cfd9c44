package deploy_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/fault"
)

func TestParseLabel(t *testing.T) {
	for _, tc := range []struct {
		in         string
		key, value string
		// err is part of the message of a refused label.
		err string
	}{
		{in: "ide=idea", key: "ide", value: "idea"},
		{in: "example.com/team=payments", key: "example.com/team", value: "payments"},
		{in: "skaffold.dev/profile=dev-1.2_x", key: "skaffold.dev/profile", value: "dev-1.2_x"},
		{in: "empty=", key: "empty", value: ""},
		{in: "a=" + strings.Repeat("v", 63), key: "a", value: strings.Repeat("v", 63)},
		{in: "ide", err: `label "ide" has no =`},
		{in: "", err: `label "" has no =`},
		{in: "=idea", err: `"" is not a valid label key`},
		{in: "my key=v", err: `"my key" is not a valid label key`},
		{in: "-ide=v", err: "is not a valid label key"},
		{in: "Example.com/team=x", err: "is not a valid label key"},
		{in: "a/b/c=x", err: "is not a valid label key"},
		{in: strings.Repeat("k", 64) + "=v", err: "is not a valid label key"},
		{in: "ide=two words", err: `"two words" is not a valid label value`},
		{in: "ide=a=b", err: `"a=b" is not a valid label value`},
		{in: "ide=-v", err: "is not a valid label value"},
		{in: "ide=" + strings.Repeat("v", 64), err: "is not a valid label value"},
		{in: "hoist.dev/run-id=mine", err: "keys under hoist.dev/ are hoist's own"},
		{in: "hoist.dev/anything=x", err: "keys under hoist.dev/ are hoist's own"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			key, value, err := deploy.ParseLabel(tc.in)
			if tc.err == "" {
				if err != nil || key != tc.key || value != tc.value {
					t.Errorf("got %q=%q, %v; want %q=%q", key, value, err, tc.key, tc.value)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %q=%q, %v; want an error saying %q", key, value, err, tc.err)
			}
			if f := fault.As(err); f == nil || f.Code != fault.UsageInvalid || len(f.Suggestions) == 0 {
				t.Errorf("%v is not a usage error with a suggestion", err)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	custom := map[string]string{"ide": "idea"}
	got := deploy.Labels("run-1", custom)
	if diff := cmp.Diff(map[string]string{"ide": "idea", deploy.RunIDLabel: "run-1"}, got); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	got["more"] = "x"
	if len(custom) != 1 {
		t.Error("Labels returned the caller's map")
	}
	if diff := cmp.Diff(map[string]string{"ide": "idea"}, deploy.Labels("", custom)); diff != "" {
		t.Errorf("without a run id (-want +got):\n%s", diff)
	}
}
