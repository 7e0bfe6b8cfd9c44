#!/usr/bin/env bash
# Vendors the collector dashboard's chart library, Observable Plot and the
# d3 it runs on: installs the exact versions that
# internal/collector/web/package-lock.json pins (npm ci, integrity checked,
# no install scripts), and copies their browser builds and the licenses of
# every installed package into internal/collector/web/vendor/, which is
# committed and embedded in hoist. Needs Node.js and npm.
#   hack/webdeps.sh           vendor the pinned versions
#   hack/webdeps.sh --update  after a change of package.json: lock it anew, then vendor
#   hack/webdeps.sh --check   vendor into a scratch folder and fail when the committed files differ
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
web=$root/internal/collector/web
mode=${1:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp "$web/package.json" "$web/package-lock.json" "$tmp/"
npm=(npm --prefix "$tmp" --no-audit --no-fund --loglevel=error --ignore-scripts --omit-lockfile-registry-resolved)
if [[ $mode == --update ]]; then
	"${npm[@]}" install --package-lock-only
	cp "$tmp/package-lock.json" "$web/package-lock.json"
fi
"${npm[@]}" ci
out=$tmp/vendor
mkdir -p "$out"
cp "$tmp/node_modules/d3/dist/d3.min.js" "$tmp/node_modules/@observablehq/plot/dist/plot.umd.min.js" "$out/"
{
	echo "The licenses of the packages that npm installs for the dashboard's chart"
	echo "library (internal/collector/web/package-lock.json). d3.min.js holds d3 and"
	echo "the d3-* modules, internmap, delaunator and robust-predicates;"
	echo "plot.umd.min.js holds Observable Plot, interval-tree-1d,"
	echo "binary-search-bounds and isoformat."
	for pj in $(cd "$tmp/node_modules" && ls -d */package.json @*/*/package.json 2>/dev/null | sort); do
		dir=$tmp/node_modules/$(dirname "$pj")
		license=$(ls "$dir" | grep -iE '^(license|licence|copying)' | head -1 || true)
		printf '\n==== %s@%s (%s)\n\n' "$(dirname "$pj")" \
			"$(node -p "require('$dir/package.json').version")" "$(node -p "require('$dir/package.json').license")"
		if [[ -n $license ]]; then cat "$dir/$license"; else echo "(the package ships no license file)"; fi
	done
} >"$out/LICENSES.txt"
if [[ $mode == --check ]]; then
	if ! diff -r "$out" "$web/vendor"; then
		echo "internal/collector/web/vendor/ differs from package-lock.json: run hack/webdeps.sh and commit the result" >&2
		exit 1
	fi
	echo "vendored chart library is up to date"
	exit 0
fi
rm -rf "$web/vendor"
cp -r "$out" "$web/vendor"
echo "vendored $(ls "$web/vendor" | tr '\n' ' ')into internal/collector/web/vendor/"
