# netlab — build, test and benchmark. Everything runs from a fresh clone with
# only Go installed: `deps` installs the few Debian packages the sandbox and
# its tests need (iproute2, iptables, tmux) when they are missing, and
# `kind-setup` installs Docker from Debian and builds the kind node image
# offline (cached under /var/cache/netlab; seconds once built).

GO        ?= go
BIN       := bin/netlab
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/netlab/netlab/internal/cli.version=$(VERSION)
FUZZTIME  ?= 10s
PKGS      := ./...
TOOLS     := $(CURDIR)/bin/tools
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)

.PHONY: all build test lint generate bench fuzz deps lab clean test-kind

all: build

## build: the static netlab binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/netlab

## deps: Debian packages the sandbox and its tests use (root; tmux drives the TUI's end-to-end test)
deps:
	@missing=""; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v iptables >/dev/null 2>&1 || missing="$$missing iptables"; \
	command -v tmux >/dev/null 2>&1 || missing="$$missing tmux"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## test: lint, every test (privileged ones for real: run as root; the kind
## tests need Docker and the node image, which kind-setup provides, cached),
## the TUI in tmux, brief fuzzing
test: deps lint build kind-setup
	$(GO) test -count=1 -timeout 20m $(PKGS)
	TERM=xterm-256color NETLAB_E2E_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -tags e2e -timeout 10m ./tui/e2e/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/world/
	$(GO) test -run '^$$' -fuzz '^FuzzEngine$$' -fuzztime $(FUZZTIME) ./internal/netpol/

## lint: gofmt, go vet and staticcheck must be clean, and netlab must build
## for macOS and Windows (sim, explain, lab list/lint, the kind backend)
lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e ./tui/e2e/
	$(STATICCHECK) $(PKGS)
	$(STATICCHECK) -tags e2e ./tui/e2e/
	GOOS=darwin $(GO) build $(PKGS)
	GOOS=windows $(GO) build $(PKGS)

# staticcheck, pinned, built from the Go module proxy into bin/tools (the
# version is in the file name, so changing it installs the new one).
$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/staticcheck $@

## generate: rebuild the eBPF objects with clang (Debian: clang llvm libbpf-dev)
generate:
	@command -v clang >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang llvm libbpf-dev; }
	$(GO) generate ./enforcer/...

## bench: benchmarks, printed as a table
bench:
	@$(GO) test -run '^$$' -bench . -benchmem $(PKGS) 2>&1 | tee bench.out | \
	  awk 'BEGIN { printf "%-40s %14s %12s  %s\n", "benchmark", "time/op", "B/op", "extra" } \
	       /^Benchmark/ { extra=""; for (i=5;i<=NF;i+=2) if ($$(i+1) != "B/op" && $$(i+1) != "allocs/op") extra=extra $$i " " $$(i+1) "  "; \
	         b=""; for (i=5;i<=NF;i+=2) if ($$(i+1)=="B/op") b=$$i; \
	         t=$$3; u="ns"; if (t >= 1e6) { t=t/1e6; u="ms" } else if (t >= 1e3) { t=t/1e3; u="µs" }; \
	         printf "%-40s %11.2f %s %12s  %s\n", $$1, t, u, b, extra }'

## fuzz: longer fuzzing (FUZZTIME=5m make fuzz)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/world/
	$(GO) test -run '^$$' -fuzz '^FuzzEngine$$' -fuzztime $(FUZZTIME) ./internal/netpol/

## lab: build and start the default lab (sandbox backend, netpol-lab), then probe it
lab: deps build
	./$(BIN) up --name netlab
	./$(BIN) probe --name netlab

clean:
	rm -rf bin bench.out

.PHONY: kind-setup node-image

## kind-setup: Docker (with netlab's runc wrapper when the host lacks capabilities) and the offline kind node image (root)
kind-setup: build
	./$(BIN) doctor --backend kind --fix
	./$(BIN) node-image build

## node-image: build (or find cached) the kind node image from the Go module proxy and Debian (root, Docker)
node-image: build
	./$(BIN) node-image build

## test-kind: the kind backend end to end: a 2-node cluster, the netpol-lab lesson, the differential test, benchmarks (root, Docker, node image)
test-kind:
	$(GO) test -count=1 -v -timeout 40m -run '^TestKindLab$$' ./internal/kindlab/
