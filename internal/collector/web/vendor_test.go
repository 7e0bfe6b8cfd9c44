package web

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestVendoredChartLibrary checks that the chart library embedded under
// vendor/ is the one package-lock.json pins, with its licenses:
// hack/webdeps.sh --check (in hack/generate.sh --check) compares every
// byte against the registry's packages; this test needs no network.
func TestVendoredChartLibrary(t *testing.T) {
	data, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	for _, tc := range []struct{ file, pkg, banner string }{
		{"vendor/d3.min.js", "d3", "// https://d3js.org v"},
		{"vendor/plot.umd.min.js", "@observablehq/plot", "// @observablehq/plot v"},
	} {
		version := lock.Packages["node_modules/"+tc.pkg].Version
		if version == "" {
			t.Errorf("package-lock.json pins no %s", tc.pkg)
			continue
		}
		js, err := files.ReadFile(tc.file)
		if err != nil {
			t.Errorf("%s is not embedded: %v", tc.file, err)
			continue
		}
		first, _, _ := strings.Cut(string(js), "\n")
		if !strings.HasPrefix(first, tc.banner+version+" ") {
			t.Errorf("%s starts %q, want %s%s: run hack/webdeps.sh", tc.file, first, tc.banner, version)
		}
	}
	licenses, err := files.ReadFile("vendor/LICENSES.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"d3", "@observablehq/plot", "interval-tree-1d", "isoformat", "delaunator", "robust-predicates"} {
		if !strings.Contains(string(licenses), "==== "+pkg+"@"+lock.Packages["node_modules/"+pkg].Version+" ") {
			t.Errorf("vendor/LICENSES.txt has no license of %s", pkg)
		}
	}
}
