# invitesync — see README.md. Targets: build test demo bench fuzz test-reliability
SHELL    := /bin/bash
GO       ?= go
BIN      := bin/invitesync
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
FUZZTIME ?= 10s

.PHONY: build test demo bench fuzz test-reliability clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/invitesync

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

demo: build
	./samples/demo.sh $(BIN)

# Each benchmark (package:name[:benchtime], default one iteration) runs in its own process so its peak-memory figure is its own;
# bench/summarize prints the table against design.md's numbers and writes bench/results.json.
BENCHES := \
	./reconcile:BenchmarkPlan1M \
	./sources:BenchmarkReadXLSX100k \
	./sources:BenchmarkReadCSV100k \
	./reconcile:BenchmarkApplyAt500rps \
	./providers/confluent:BenchmarkConfluentList10k \
	./providers/emulator:BenchmarkEmulatorThroughput:2s \
	./report:BenchmarkWrite10kActions

bench:
	@set -o pipefail; { for b in $(BENCHES); do \
		IFS=: read -r pkg name time <<<"$$b"; \
		$(GO) test -run='^$$' -bench="^$$name$$" -benchmem -benchtime=$${time:-1x} -count=1 -timeout=30m $$pkg || exit 1; \
	done; } | $(GO) run ./bench/summarize -out bench/results.json

# Each fuzz target for a bounded time; new interesting inputs land in testdata/fuzz.
fuzz:
	$(GO) test ./sources -run='^$$' -fuzz='^FuzzCSV$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sources -run='^$$' -fuzz='^FuzzXLSX$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sources -run='^$$' -fuzz='^FuzzYAML$$' -fuzztime=$(FUZZTIME)

test-reliability:
	$(GO) test -tags=reliability -count=1 -timeout=10m ./...

clean:
	rm -rf bin invitesync-report demo
