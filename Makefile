# efssync — the commands a user and CI run. `make test` is the one test
# command: it installs what the tests need (Debian packages, a pinned MinIO
# and Toxiproxy built with `go install`) and runs every test with the race
# detector. .ci/run runs exactly `make test`.

GO      ?= go
BIN     := $(CURDIR)/.bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: build demo test test-deps fuzz bench bench-s3 bench-live acceptance-live bench-shards package clean soak

# CGO_ENABLED=0: a static binary runs on any distribution, and skipping the
# dynamic loader saves 3-4 ms of every run's start-up (measured with perf stat).
build:
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o efssync ./cmd/efssync

# Runs the main job on a generated demo tree into ./demo/replica: no AWS needed.
demo:
	bash examples/demo.sh

test-deps:
	bash scripts/install-test-deps.sh

test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	# deploy/ is its own module, so that the Kubernetes and AWS Batch API types
	# its tests decode with stay out of the efssync binary's dependencies.
	cd deploy && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	# packaging/tools is its own module too: nfpm's modules stay out of
	# go.mod. Its copyright generator has tests.
	cd packaging/tools && $(GO) vet ./... && $(GO) test -race -count=1 ./...

# Short fuzzing of every parser and decoder; FUZZTIME per target.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzParseSize$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzParseShard$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzBwTimetable$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshalRecord$$' -fuzztime $(FUZZTIME) ./manifest
	$(GO) test -run '^$$' -fuzz '^FuzzParsePlaylist$$' -fuzztime $(FUZZTIME) ./agent/hls
	$(GO) test -run '^$$' -fuzz '^FuzzMPD$$' -fuzztime $(FUZZTIME) ./agent/dash
	$(GO) test -run '^$$' -fuzz '^FuzzKey$$' -fuzztime $(FUZZTIME) ./transfer/s3dest
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMeta$$' -fuzztime $(FUZZTIME) ./transfer/s3client
	$(GO) test -run '^$$' -fuzz '^FuzzAbs$$' -fuzztime $(FUZZTIME) ./transfer/fsdest
	$(GO) test -run '^$$' -fuzz '^FuzzFilterLine$$' -fuzztime $(FUZZTIME) ./cmd/efssync
	$(GO) test -run '^$$' -fuzz '^FuzzNames$$' -fuzztime $(FUZZTIME) ./internal/namefmt

# Watch-mode soak under random faults (not part of `make test`): a live
# ffmpeg stream and a recorder into faultfs and S3 through Toxiproxy.
# SOAK_DURATION (default 10m), SOAK_SEED (default 1).
SOAK_DURATION ?= 10m
soak:
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -count=1 -v -run '^TestSoak$$' -timeout 0 ./internal/faultmatrix

# Mounted destinations on a simulated EFS: efssync vs cp, rsync, fpsync, rclone.
bench:
	bash bench/run.sh

# S3 into a local MinIO: efssync vs aws s3 sync and rclone. BENCH_NET=model
# puts Toxiproxy (latency, per-connection bandwidth) in front of it.
bench-s3:
	bash bench/s3.sh

# Live HLS and DASH replication lag: efssync vs lsyncd, then the 2-minute
# live-stream acceptance runs with the real players (acceptance-live).
bench-live:
	bash bench/live.sh
	$(MAKE) acceptance-live

# Live-stream acceptance (not part of `make test`, which runs 20 s
# versions): 2-minute DASH, fMP4 HLS and byte-range HLS streams replicated
# by efssync to a latency-injected mount and viewed by real players
# (dash.js in headless Chromium, ffmpeg), plus the unordered control run.
acceptance-live: test-deps
	EFSSYNC_ACCEPTANCE=1 $(GO) test -count=1 -v -timeout 40m -run '^Test(Live|DashJS|FFmpeg)' ./internal/playertest

# One migration in 1, 2 and 4 shards, each through its own simulated EFS mount.
bench-shards:
	bash bench/shards.sh

# Release artifacts into dist/, offline, publishing nothing: static linux
# amd64/arm64 tarballs, a .deb and an .rpm per architecture, SHA256SUMS
# (scripts/package.sh; ARCHES= to choose). It builds efssync with plain
# `go build` and nfpm alone from packaging/tools, its own module.
package:
	bash scripts/package.sh

clean:
	rm -rf efssync demo dist build
