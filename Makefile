# appagent — the two commands of the README are `make demo` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/appagent/appagent/agent/version.Version=$(VERSION)
BIN     := bin/appagent

.PHONY: build test test-unit test-integration bench lint demo clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/appagent

# Everything: unit tests, fuzz seeds, and the integration tests that boot real systemd
# containers (systemd-nspawn and podman; needs root and the packages .ci/run installs).
test: lint
	$(GO) test -count=1 -timeout 80m ./...

# Unit tests only: no root, no containers (-short skips the integration tests).
test-unit:
	$(GO) test -short -count=1 ./...

test-integration:
	$(GO) test -count=1 -timeout 80m -v ./integration/...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo:
	@echo "make demo: the example wiki is not built yet (issue 7)"; exit 1

clean:
	rm -rf bin
