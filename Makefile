# yasyncd — common tasks. `make help` lists them.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin

.PHONY: help setup build test test-full bench demo vet clean install

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: ## fetch the Go modules (the only set-up a fresh machine with Go needs)
	$(GO) mod download

build: ## build bin/yasyncd and bin/yandexemu
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/yasyncd ./cmd/yasyncd
	$(GO) build -trimpath -o $(BIN)/yandexemu ./cmd/yandexemu

vet: ## gofmt check and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test: vet ## the CI test command: vet plus every test with the race detector (quick tier)
	$(GO) test -race -count=1 -timeout 15m ./...

test-full: ## the full counts: 10,000 random sequences, 50 crash kills, bigger trees (hours)
	YASYNCD_FULL=1 $(GO) test -count=1 -timeout 6h ./...

bench: ## benchmarks (ratios against raw HTTP transfers, 100k-file scans)
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo: build ## a real two-way sync against the bundled emulator, no account needed
	./scripts/demo.sh

install: build ## install the binary to ~/.local/bin
	install -D -m 0755 $(BIN)/yasyncd $(HOME)/.local/bin/yasyncd

clean: ## remove build output
	rm -rf $(BIN) demo
