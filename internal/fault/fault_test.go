package fault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCatalogHoldsEveryCode parses this package's sources: every constant
// of type Code must have exactly one catalog entry, and every entry a
// meaning, an action and an exit code other than success.
func TestCatalogHoldsEveryCode(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "catalog.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Code" {
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					declared = append(declared, strings.Trim(lit.Value, `"`))
				}
			}
		}
		return true
	})
	if len(declared) < 40 {
		t.Fatalf("found only %d Code constants in catalog.go; the parse is wrong", len(declared))
	}
	seen := map[Code]bool{}
	for _, e := range Catalog {
		if seen[e.Code] {
			t.Errorf("%s is in the catalog twice", e.Code)
		}
		seen[e.Code] = true
		if e.Meaning == "" || e.Action == "" {
			t.Errorf("%s needs a meaning and an action", e.Code)
		}
		if e.Exit == ExitOK {
			t.Errorf("%s exits 0", e.Code)
		}
	}
	for _, c := range declared {
		if !seen[Code(c)] {
			t.Errorf("code %s is declared but not in the catalog", c)
		}
	}
	if len(seen) != len(declared) {
		t.Errorf("the catalog has %d codes, catalog.go declares %d", len(seen), len(declared))
	}
}

func TestDocIsGenerated(t *testing.T) {
	var want bytes.Buffer
	if err := WriteDoc(&want); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.String(), string(have)); diff != "" {
		t.Errorf("docs/errors.md is stale; run go generate ./internal/fault (-want +have):\n%s", diff)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain", errors.New("boom"), ExitInternal},
		{"canceled context", fmt.Errorf("building: %w", context.Canceled), ExitCanceled},
		{"config", New(ConfigInvalid, "bad"), ExitConfig},
		{"wrapped build", fmt.Errorf("run: %w", Wrap(errors.New("x"), BuildRunFailed, "RUN failed")), ExitBuild},
		{"deploy", New(DeployApplyFailed, "refused"), ExitDeploy},
		{"status", New(StatusCheckCrashLoop, "crash"), ExitStatus},
		{"events", New(EventsUnreachable, "down"), ExitEvents},
		{"canceled fault", Wrap(context.Canceled, Canceled, "canceled"), ExitCanceled},
		{"a code not in the catalog", New(Code("NOT_A_CODE"), "?"), ExitInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain", errors.New("boom"), "error: boom\n"},
		{"no suggestion", New(ConfigInvalid, "bad field"), "error [CONFIG_INVALID]: bad field\n"},
		{"empty suggestions dropped", Wrap(errors.New("EOF"), CollectorListen, "serving", "", "  "), "error [COLLECTOR_LISTEN_FAILED]: serving: EOF\n"},
		{"hints", New(DeployNoDeployer, "no deployer", "add deploy.kubectl", "see docs"),
			"error [DEPLOY_NO_DEPLOYER]: no deployer\n  hint: add deploy.kubectl\n  hint: see docs\n"},
		{"literal with an empty suggestion", &Error{Code: UsageInvalid, Message: "m", Suggestions: []string{""}}, "error [USAGE_INVALID]: m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Format(tt.err)); diff != "" {
				t.Errorf("Format (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCodeOfFindsTheFirstFault(t *testing.T) {
	inner := New(BuildRunFailed, "inner")
	outer := Wrap(inner, Canceled, "outer")
	if got := CodeOf(fmt.Errorf("x: %w", outer)); got != Canceled {
		t.Errorf("CodeOf = %s, want %s", got, Canceled)
	}
	if got := CodeOf(errors.New("plain")); got != Unknown {
		t.Errorf("CodeOf(plain) = %s, want %s", got, Unknown)
	}
}
