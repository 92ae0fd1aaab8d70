# invitesync — see README.md. Targets: build test demo bench fuzz test-reliability
SHELL    := /bin/bash
GO       ?= go
BIN      := bin/invitesync
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
FUZZTIME ?= 10s
# Minimising a new input can stall a short run for minutes on 2 cores: bound it.
FUZZFLAGS = -run='^$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=3s

.PHONY: build test demo bench fuzz test-reliability clean

# A static binary (no libc, no loader: it runs alone in an empty root or a
# distroless image); -trimpath keeps build paths out of it.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/invitesync

# The whole suite with the race detector, then the reliability suite (real
# binaries, faults, kill -9, bad-roster corpus, secrets); CI runs exactly this.
test:
	$(GO) vet -tags=reliability ./...
	$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory test-reliability

demo: build
	./samples/demo.sh $(BIN)

# The bench/e2e ones run the real binary against `invitesync emulator` (rate limits 5/10/20/100/500, latency 0/50/200 ms)
# and print each figure next to its physical limit; they take about 5 minutes of the total.
# Each benchmark (package:name[:benchtime], default one iteration) runs in its own process so its peak-memory figure is its own;
# bench/summarize prints the table against the README's performance figures and writes bench/results.json.
BENCHES := \
	./reconcile:BenchmarkPlan1M \
	./sources:BenchmarkReadXLSX100kSharedStrings \
	./sources:BenchmarkReadXLSX100k \
	./sources:BenchmarkReadCSV100k \
	./sources:BenchmarkReadCSV5M \
	./reconcile:BenchmarkApplyAt500rps \
	./providers/confluent:BenchmarkConfluentList10k \
	./providers/confluent:BenchmarkConfluentListAccess1k \
	./providers/emulator:BenchmarkEmulatorThroughput:2s \
	./providers/emulator:BenchmarkEmulatorThroughputWithState:1s \
	./report:BenchmarkWrite10kActions \
	./report:BenchmarkWrite1MActions \
	./bench/e2e:BenchmarkE2EApply \
	./bench/e2e:BenchmarkE2EList \
	./bench/e2e:BenchmarkE2ERefreshPattern \
	./bench/e2e:BenchmarkE2EPlan1M

bench:
	@set -o pipefail; { for b in $(BENCHES); do \
		IFS=: read -r pkg name time <<<"$$b"; \
		$(GO) test -run='^$$' -bench="^$$name$$" -benchmem -benchtime=$${time:-1x} -count=1 -timeout=30m $$pkg || exit 1; \
	done; } | $(GO) run ./bench/summarize -out bench/results.json

# Each fuzz target for a bounded time; new interesting inputs land in testdata/fuzz.
fuzz:
	$(GO) test ./sources $(FUZZFLAGS) -fuzz='^FuzzCSV$$'
	$(GO) test ./sources $(FUZZFLAGS) -fuzz='^FuzzXLSX$$'
	$(GO) test ./sources $(FUZZFLAGS) -fuzz='^FuzzYAML$$'

# The packages holding //go:build reliability tests (only they run, so the
# output ends on the suite's own result, not on "no tests to run").
RELIABILITY_PKGS := ./cmd/invitesync

test-reliability:
	$(GO) test -tags=reliability -run='^TestReliability' -count=1 -timeout=10m -v $(RELIABILITY_PKGS) | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|reliability_.*\.go:[0-9]+:' ; exit $${PIPESTATUS[0]}

clean:
	rm -rf bin invitesync-report demo
