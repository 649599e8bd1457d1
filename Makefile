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
# make test fuzzes a fixed number of executions, not a duration: a duration
# races Go 1.26's fuzz coordinator on a loaded machine (golang/go#75804,
# "context deadline exceeded" with no crasher). make fuzz keeps FUZZTIME.
FUZZEXECS ?= 3000x
PKGS      := ./...
TOOLS     := $(CURDIR)/bin/tools
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)

.PHONY: all build test lint generate bench bench-large fuzz deps test-deps lab clean test-kind leak-check bench-class

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

## test-deps: what only the tests use: Debian's chromium, for the HTML class report's browser test (root)
test-deps:
	@command -v chromium >/dev/null 2>&1 || { echo "installing: chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## test: lint, every test (privileged ones for real: run as root; the kind
## tests need Docker and the node image, which kind-setup provides, cached),
## the TUI in tmux, brief fuzzing
test: deps test-deps lint build kind-setup
	@$(LEAK_LABS) > .leak-before
	$(GO) test -count=1 -timeout 20m $(PKGS)
	TERM=xterm-256color NETLAB_E2E_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -tags e2e -timeout 10m ./tui/e2e/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZEXECS) ./internal/world/
	$(GO) test -run '^$$' -fuzz '^FuzzEngine$$' -fuzztime $(FUZZEXECS) ./internal/netpol/
	@$(MAKE) --no-print-directory leak-check

# The labs with state (sandbox and kind), one per line.
LEAK_LABS := find /run/netlab /var/lib/netlab/kind -mindepth 2 -maxdepth 2 -name state.json 2>/dev/null | sort

## leak-check: fail if the tests left anything: a network namespace, pin,
## TCX link, process, state dir or kind cluster of netlab's that no running
## lab owns ('netlab gc --dry-run'), or a lab that was not running before
## 'make test' (.leak-before; without it, any lab)
leak-check: build
	@./$(BIN) gc --dry-run --check || { echo "leak-check: the tests left the above behind ('sudo $(BIN) gc' removes it)"; exit 1; }
	@touch .leak-before; $(LEAK_LABS) > .leak-after; \
	left=$$(comm -13 .leak-before .leak-after); rm -f .leak-before .leak-after; \
	if [ -n "$$left" ]; then echo "leak-check: labs left running by the tests:"; echo "$$left"; exit 1; fi
	@echo "leak-check: nothing left behind"

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
	@echo
	@echo "the real binary, 'netlab sim -f WORLD', worlds from internal/worldgen (median of 3; NETLAB_BENCH_LARGE=1 or 'make bench-large' adds 10,000 pods):"
	@$(MAKE) -s build
	@$(GO) run ./cmd/simbench -bin $(BIN) | tee -a bench.out

## bench-large: the simulator table including 10,000 pods / 2,000 policies (about 140 M rows; minutes)
bench-large: build
	$(GO) run ./cmd/simbench -bin $(BIN) -large

## fuzz: longer fuzzing (FUZZTIME=5m make fuzz)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/world/
	$(GO) test -run '^$$' -fuzz '^FuzzEngine$$' -fuzztime $(FUZZTIME) ./internal/netpol/

## bench-class: grade a class of CLASS_SIZE (30) copies of the sample class's submissions, -j JOBS (one per CPU), and time it (root)
CLASS_SIZE ?= 30
JOBS       ?= 0
bench-class: build
	@dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	students=$$(cd internal/classroom/testdata/class && ls -d */ | tr -d /); \
	i=0; while [ $$i -lt $(CLASS_SIZE) ]; do for s in $$students; do \
	  [ $$i -lt $(CLASS_SIZE) ] || break; cp -r internal/classroom/testdata/class/$$s "$$dir/$$(printf '%02d' $$i)-$$s"; i=$$((i+1)); \
	done; done; \
	start=$$(date +%s.%N); ./$(BIN) grade --lab default-deny --class "$$dir" -j $(JOBS) --csv "$$dir/class.csv" >"$$dir/summary.txt" || exit 1; \
	end=$$(date +%s.%N); \
	awk -v s=$$start -v e=$$end -v n=$(CLASS_SIZE) -v c=$$(nproc) \
	  '{ for (i = 1; i <= NF; i++) if ($$i ~ /^[0-9.]+s$$/) { t += $$i; k++ } } \
	   END { printf "class of %d graded in %.1f s on %d CPUs (%.2f s per submission); one submission takes %.1f s in its lab on average\n", n, e-s, c, (e-s)/n, t/k }' "$$dir/summary.txt"

## lab: build and start the default lab (sandbox backend, netpol-lab), then probe it
lab: deps build
	./$(BIN) up --name netlab
	./$(BIN) probe --name netlab

clean:
	rm -rf bin bench.out .leak-before .leak-after

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
