# appagent — the two commands of the README are `make demo` and `make test`.
SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/appagent/appagent/agent/version.Version=$(VERSION)
BIN     := bin/appagent
# appagent kube lives in its own binary: the Kubernetes API types are 5 MB of binary and 3 MB
# of memory that every in-container appagent process would carry; appagent runs it from next
# to itself or PATH.
KUBEBIN := bin/appagent-kube

.PHONY: build test test-unit test-integration test-debian13 test-debian11 bench bench-large lint demo demo-stop demo-clean clean

# CGO_ENABLED=0: the binary needs no particular glibc (it runs on RHEL 8's 2.28 as on Debian
# 13's); it still reads the journal with libsystemd, loaded at run time (agent/logfwd).
build:
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/appagent
	CGO_ENABLED=0 $(GO) build -tags appagent_kube -ldflags '$(LDFLAGS)' -o $(KUBEBIN) ./cmd/appagent

# Everything: unit tests, fuzz seeds, the harness's own tests, and the integration tests that
# boot real systemd containers (systemd-nspawn and podman; needs root and the packages .ci/run
# installs). The integration package runs with -v so the log shows which runtime each test
# booted and whether the cached root was reused (docs/testing.md).
test: lint
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v '/integration$$')
	$(GO) test -count=1 -tags appagent_kube ./cmd/appagent
	$(GO) test -count=1 -timeout 60m -v ./integration/...
	$(MAKE) --no-print-directory test-debian13
	$(MAKE) --no-print-directory test-debian11

# The core integration tests (boot, populate, upgrade, hooks, logs, status, diff, stop on
# nspawn, podman and Docker) once more on Debian 13 roots: systemd 257 on this host's cgroups.
DEBIAN13_TESTS := ^(TestSuiteSystemdNspawn|TestBootPodmanZeroFlag|TestBootDocker|TestVolumeLifecycleNspawn|TestHooksConfigureOnceUpgradeOnceNspawn|TestLogsNspawnPipe|TestLogsPodman|TestStatusStatesNspawn|TestStatusPodman|TestDiffNspawn)$$
test-debian13:
	APPAGENT_TEST_SUITE=trixie $(GO) test -count=1 -timeout 20m -v -run '$(DEBIAN13_TESTS)' ./integration/
	APPAGENT_TEST_SUITE=trixie $(GO) test -count=1 -timeout 10m -v -run '^TestScenarios$$/^boot$$' ./integration/

# The binary on an older glibc than the build machine's: Debian 11 (glibc 2.31, systemd 247)
# boots, forwards the journal natively, and is probed for its glibc. (RHEL 8's 2.28 cannot be
# had here: see docs/testing.md.)
DEBIAN11_TESTS := ^(TestSuiteSystemdNspawn|TestLogsNspawnPipe)$$
test-debian11:
	APPAGENT_TEST_SUITE=bullseye $(GO) test -count=1 -timeout 20m -v -run '$(DEBIAN11_TESTS)' ./integration/
	APPAGENT_TEST_SUITE=bullseye $(GO) test -count=1 -timeout 10m -v -run '^TestScenarios$$/^boot$$/^nspawn$$' ./integration/

# Unit tests only: no root, no containers (-short skips the integration tests).
test-unit:
	$(GO) test -short -count=1 ./...

test-integration:
	$(GO) test -count=1 -timeout 80m -v ./integration/...

# Every benchmark against its baseline in the same run, then one table of them (benchmark,
# appagent, baseline, ratio, goal; internal/benchtable). The raw output stays in bin/bench.out.
bench:
	@mkdir -p bin
	@set -o pipefail; { $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./... && \
	  $(GO) test -tags appagent_cgojournal -run '^$$' -bench BenchmarkSDJournalReaders -benchtime 3x ./agent/logfwd/; } | tee bin/bench.out
	@echo; $(GO) run ./internal/benchtable/cmd < bin/bench.out

# The volume benchmarks on the 1× tree and on one BENCH_SCALE times larger (10: 270,000 files,
# 5.3 GB, generated once under /var/cache/appagent-test; about 15 GB of disk and 6 GB of memory
# beside the page cache for the tmpfs side), then how much each ratio grew (goal: within 10%). Only
# when asked: it takes about an hour. Raw outputs in bin/bench-large-<scale>.out.
BENCH_SCALE ?= 10
LARGE_BENCHES := BenchmarkPopulateFresh|BenchmarkUpToDate
bench-large:
	@mkdir -p bin
	@set -o pipefail; for s in 1 $(BENCH_SCALE); do 	  { APPAGENT_BENCH_SCALE=$$s $(GO) test -run '^$$' -bench '$(LARGE_BENCHES)' -benchtime 3x -timeout 180m ./agent/upgrade/ && 	    APPAGENT_BENCH_SCALE=$$s $(GO) test -run '^$$' -bench BenchmarkDiff -benchtime 3x ./agent/diff/; } | tee bin/bench-large-$$s.out || exit 1; 	done
	@echo; $(GO) run ./internal/benchtable/cmd -scale -large-scale $(BENCH_SCALE) bin/bench-large-1.out bin/bench-large-$(BENCH_SCALE).out

# deadcode (x/tools): no function of the product that only tests reach; a helper only tests
# need lives in a _test.go file. Both binaries: appagent, and appagent-kube (-tags appagent_kube).
DEADCODE := golang.org/x/tools/cmd/deadcode@v0.52.0
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags appagent_kube ./cmd/appagent
	@out=$$({ $(GO) run $(DEADCODE) ./cmd/appagent; $(GO) run $(DEADCODE) -tags appagent_kube ./cmd/appagent; } | sort -u); if [ -n "$$out" ]; then echo "unreachable from cmd/appagent (move test-only helpers into _test.go files, or delete):"; echo "$$out"; exit 1; fi

# The example wiki (examples/wiki) in one systemd container: build appagent and the image
# (with a local Debian base when there is no registry; BASE=<image> to use another), run it
# on the volume appagent-wiki-data, wait until it is ready, print its URL and admin login.
# Go's official tarball installs to /usr/local/go, which a fresh root shell lacks on PATH.
demo:
	PATH="$$PATH:/usr/local/go/bin" $(MAKE) --no-print-directory build
	BASE="$(BASE)" PORT="$(PORT)" scripts/demo.sh run

demo-stop:
	scripts/demo.sh stop

# Removes the demo container, its volume (the wiki's data) and its image.
demo-clean:
	scripts/demo.sh clean

clean:
	rm -rf bin
