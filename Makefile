# trunkd — see README.md. `make run` starts the daemon on a copy of
# examples/providers, `make test` runs every check and test.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Extra flags for `make run`, e.g. RUN_FLAGS='--listen 127.0.0.1:9080'.
RUN_FLAGS ?=
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $$($(GO) env GOPATH)/bin/staticcheck)

.PHONY: build run test lint bench bench-latency bench-git bench-actions bench-cluster vet fmt tidy clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/trunkd ./cmd/trunkd

# The daemon serves and writes a fresh copy of the example providers
# (out/run/providers), so API writes never touch the tracked files.
run: build
	rm -rf out/run
	mkdir -p out/run
	cp -R examples/providers out/run/providers
	bin/trunkd serve --config examples/trunkd.yaml --providers out/run/providers $(RUN_FLAGS)

test: lint
	$(GO) test -race -count=1 -timeout 30m ./...

# gofmt (fails on any unformatted file), go vet, staticcheck.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

# Edit → reload command started against the real daemon at 100, 1,000 and
# 10,000 providers for each built-in template (issue 16's table, in
# docs/design.md), POST+DELETE pairs/s with 1, 4 and 16 clients against the
# disk's fsync bound, and the reloads per target of a 300-file git
# checkout; takes about 20 minutes. TRUNKD_BENCH_EDITS=N,
# TRUNKD_BENCH_SIZES=100,1000 and TRUNKD_BENCH_TEMPLATES=kamailio/uacreg
# shorten it; TRUNKD_BENCH_BASELINE=path/to/older/trunkd adds that build's
# pairs/s, TRUNKD_BENCH_BIN measures a given binary instead of this tree.
bench-latency:
	TRUNKD_BENCH_LATENCY=1 $(GO) test -count=1 -timeout 60m -run '^Test(LatencyTable|WriteThroughput|GitCheckoutReloads)$$' -v ./cmd/trunkd/

# Issue 14's figures: API writes as commits, human push vs API, kill -9,
# a second follower's latency (trigger and poll), the remote down and back.
bench-git:
	mkdir -p out
	TRUNKD_BENCH_GIT=1 $(GO) test -count=1 -timeout 30m -run '^TestGitFigures' -v ./cmd/trunkd/ > out/bench-git.log 2>&1; \
	rc=$$?; grep -E 'FIGURE|^(---|FAIL|ok)' out/bench-git.log; exit $$rc

# Issue 13's figures: a real Kamailio registering 1,000 trunks at a second
# Kamailio acting as the provider's digest registrar; per-trunk password
# changes (p50/p90/max to the REGISTER with the new credentials), REGISTERs
# from the untouched trunks, deletions to the un-REGISTER; kamcmd against
# JSON-RPC. Needs kamailio and kamcmd; loads the machine for about a minute.
bench-actions:
	TRUNKD_FIGURES=1 $(GO) test -count=1 -timeout 10m -run '^(TestKamailioPresetFigures|TestKamailioControlFigures|TestKamailioRefreshCostFigures)$$' -v ./render/

# Issue 15's figures: 100 trunks on three trunkd nodes and a 3-member etcd
# (loopback): steady state, kill -9 failover, the node coming back, a
# partition's handover order, the etcd leader killed, 300 PATCHes over the
# three APIs while a node restarts. Needs etcd and git; about two minutes.
bench-cluster:
	mkdir -p out
	TRUNKD_FIGURES=1 $(GO) test -count=1 -timeout 20m -run '^TestClusterFigures$$' -v ./cmd/trunkd/ > out/bench-cluster.log 2>&1; \
	rc=$$?; grep -E 'FIGURE|^(---|FAIL|ok)' out/bench-cluster.log; exit $$rc

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin out
