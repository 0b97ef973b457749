# trunkd — see README.md. `make run` starts the daemon on examples/,
# `make test` runs every test with the race detector.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test bench vet fmt tidy clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/trunkd ./cmd/trunkd

run: build
	bin/trunkd serve --config examples/trunkd.yaml

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin out
