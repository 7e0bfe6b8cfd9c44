# hoist's entry points. The scripts under hack/ do the work; each installs
# what it needs.

.PHONY: demo test build generate lint testenv testenv-down testenv-status bench bench-testenv bench-anchor bench-view bench-subscriber bench-skaffold-api

## demo: build hoist and run it on the bundled example, showing the event stream
demo:
	bash hack/demo.sh

## test: every check and test, against the test environment (started if needed)
test:
	bash hack/test.sh

## build: build bin/hoist and its companion bin/hoist-render (kustomize, Helm)
build:
	go build -o bin/hoist ./cmd/hoist
	CGO_ENABLED=0 go build -o bin/hoist-render ./cmd/hoist-render

## generate: regenerate the Go code of the .proto files
generate:
	bash hack/generate.sh

## lint: go vet, staticcheck, golangci-lint, and the check that generated code and docs/errors.md are fresh
lint:
	go vet ./...
	PATH="$$(bash hack/tools.sh):$$PATH" staticcheck ./...
	PATH="$$(bash hack/tools.sh):$$PATH" golangci-lint run ./...
	bash hack/generate.sh --check

## testenv: start the test environment (dockerd, registry, Kubernetes on loopback)
testenv:
	bash hack/testenv/up.sh

## testenv-down: stop what testenv started
testenv-down:
	bash hack/testenv/down.sh

## testenv-status: show what runs and where
testenv-status:
	bash hack/testenv/status.sh

## bench: the benchmarks that need no test environment (bus, file sink, Event API, Skaffold's API)
bench:
	go test -run '^$$' -bench . -benchmem ./internal/event/... ./internal/rpc/
	go test -run '^$$' -bench V2Events -benchtime 1000000x ./internal/skaffoldapi/

## bench-testenv: the benchmarks against the test environment (build, run, dev loop, application logs, port forward, collector, its timeline and trends)
bench-testenv: testenv
	bash hack/bench/build.sh
	bash hack/bench/run.sh
	go test -run '^$$' -bench DevLoop -benchtime 7x ./internal/cli/
	go test -run '^$$' -bench ApplicationLogs -benchtime 5x ./internal/cli/
	go test -run '^$$' -bench PortForward -benchtime 200x ./internal/cli/
	go test -run '^$$' -bench DevSync -benchtime 7x ./internal/cli/
	go test -run '^$$' -bench Ingest -benchtime 100000x ./internal/collector/
	go test -run '^$$' -bench 'DashboardFirstRender|DashboardTimeline' -benchtime 5x ./internal/collector/
	go test -run '^$$' -bench 'Runs|Trends' ./internal/collector/store/

## bench-view: hoist build of 1000000 lines with the live terminal view, next to JSON lines to a file and on a terminal (no test environment)
bench-view:
	bash hack/bench/view.sh

## bench-subscriber: hoist build of 1000000 lines with and without a subscriber attached from the start, at 250k and 500k lines a second and as fast as the build prints (no test environment)
bench-subscriber:
	bash hack/bench/subscriber.sh

## bench-anchor: hoist next to Skaffold v2.13.2 on a build that prints 200000 and 1000000 lines (builds Skaffold the first time)
bench-anchor:
	bash hack/bench/anchor.sh

## bench-skaffold-api: curl -N /v2/events on hoist and on Skaffold v2.13.2 (when bench-anchor built it) during a build of 1000000 lines
bench-skaffold-api:
	bash hack/bench/skaffold-api.sh
