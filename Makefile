# CodeMetrics — the two commands a newcomer needs are `make run` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin/codemetrics
GO_TEST_FLAGS ?= -race -count=1 -timeout 15m

FRONTEND_DEPS := frontend/node_modules/.package-lock.json
E2E_DEPS      := e2e/node_modules/.package-lock.json

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(FRONTEND_DEPS): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
$(E2E_DEPS): e2e/package.json e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund

.PHONY: deps
deps: $(FRONTEND_DEPS) $(E2E_DEPS) ## install the npm packages (from the lockfiles)

.PHONY: frontend
frontend: $(FRONTEND_DEPS) ## build the single-page app into frontend/dist
	cd frontend && npm run build

.PHONY: build
build: frontend ## build bin/codemetrics with the portal embedded
	cd backend && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o ../$(BIN) ./cmd/codemetrics

.PHONY: run
run: build $(E2E_DEPS) ## build and start CodeMetrics (SQLite) with the development identity provider
	./e2e/idp/run-dev.sh

.PHONY: idp
idp: $(E2E_DEPS) ## start the development identity provider alone (IDP_PORT, IDP_ISSUER, IDP_REDIRECT_URIS)
	cd e2e && node idp/server.mjs

.PHONY: test
test: test-go test-fuzz test-frontend test-e2e ## every test: Go (unit and integration), fuzzing, frontend, Playwright

# package:target:executions of the fuzz tests; their committed corpora replay in every `go test`.
# `make test` runs each target for its number of executions (a few seconds each on two cores),
# not for a duration: Go 1.26's fuzzing coordinator can fail a duration-bound run at its
# deadline with a bare "context deadline exceeded" and no failing input (go.dev/issue/75804,
# fixed in Go 1.27); a count has no deadline to race.
FUZZ_TARGETS := ./internal/token:FuzzParse:100000 ./internal/httpapi:FuzzCreateTokenBody:3000 ./internal/httpapi:FuzzRecordRunBody:3000 ./internal/httpapi:FuzzQueryBody:3000 ./internal/httpapi:FuzzRecordRunBatchBody:2000 ./internal/httpapi:FuzzAppendJSONString:20000 ./internal/httpapi:FuzzAppendJSONFloat:20000
FUZZTIME ?= 60s

# fuzz_each RUNS: fuzzes every target, for RUNS(pkg, target, executions) as -fuzztime.
define fuzz_each
	cd backend && for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$${rest#*:}; \
	  go test -count=1 -run '^$$' -fuzz "^$$name$$" -fuzztime $(1) "$$pkg" || exit 1; \
	done
endef

.PHONY: test-fuzz
test-fuzz: ## fuzz each target for a fixed number of executions (a few seconds each)
	$(call fuzz_each,$${n}x)

.PHONY: fuzz
fuzz: ## fuzz each target longer (FUZZTIME, default 60s each)
	$(call fuzz_each,$(FUZZTIME))

.PHONY: test-go
test-go: ## Go tests with the race detector (MariaDB too when TEST_MYSQL_DSN is set), the product's and the benchmarks'
	cd backend && go vet ./... && go test $(GO_TEST_FLAGS) ./...
	cd bench && go vet ./... && go test $(GO_TEST_FLAGS) ./...

.PHONY: test-cluster
test-cluster: ## the cluster scenarios, then the portal walkthrough through HAProxy on three replicas, on a three-node MariaDB Galera cluster it starts on loopback ports (a few minutes; installs galera-4, haproxy, rsync when missing)
	scripts/cluster/test.sh

.PHONY: test-frontend
test-frontend: $(FRONTEND_DEPS) ## frontend: API types current with the OpenAPI document, lint (feature boundaries), type check, unit tests
	cd frontend && npm run check:api && npm run lint && npm run typecheck && npm test

.PHONY: test-e2e
test-e2e: build $(E2E_DEPS) ## Playwright end-to-end tests in Chromium against the real binary, on SQLite then MariaDB
	cd e2e && METRICS_ADDR=off CODEMETRICS_BIN=../$(BIN) npx playwright test
	cd e2e && METRICS_ADDR=off CODEMETRICS_BIN=../$(BIN) E2E_DATABASE=mysql npx playwright test

.PHONY: screenshots
screenshots: build $(E2E_DEPS) ## refresh the portal screenshots in docs/screenshots (light and dark)
	cd e2e && METRICS_ADDR=off CODEMETRICS_BIN=../$(BIN) npm run screenshots

.PHONY: bench
bench: build $(E2E_DEPS) ## performance benchmarks on SQLite and MariaDB, the tokens page in Chromium, written to docs/benchmarks.md (about 30 minutes)
	cd bench && go build -o ../bin/bench ./cmd/bench
	bin/bench run -bin bin/codemetrics -results bin/benchmarks.json -out docs/benchmarks.md

.PHONY: bench-scale
bench-scale: build $(E2E_DEPS) ## the pipeline at 10,000,000 runs and the dashboard in Chromium at 1,000,000 runs, SQLite (about 45 minutes, ~10 GB of disk), added to docs/benchmarks.md
	cd bench && go build -o ../bin/bench ./cmd/bench
	BENCH_SCENARIOS=pipeline,scale,dashboard BENCH_DATABASES=sqlite bin/bench run -merge scale,dashboard -command "make bench-scale" -bin bin/codemetrics -results bin/benchmarks.json -out docs/benchmarks.md

.PHONY: bench-cluster
bench-cluster: build ## replicas on a three-node MariaDB Galera cluster behind HAProxy (statements/s per replica, throughput of 1-3 replicas, time until every replica refuses a revoked token), added to docs/benchmarks.md (a few minutes; BENCH_CLUSTER_* ports)
	cd bench && go build -o ../bin/bench ./cmd/bench
	BENCH_SCENARIOS=cluster bin/bench run -merge cluster -command "make bench-cluster" -bin bin/codemetrics -results bin/benchmarks.json -out docs/benchmarks.md

.PHONY: bench-report
bench-report: ## render docs/benchmarks.md again from bin/benchmarks.json (after editing docs/benchmarks-notes.md)
	cd bench && go run ./cmd/bench report -results bin/benchmarks.json -out docs/benchmarks.md

.PHONY: fmt
fmt: ## format the Go code
	gofmt -w backend bench frontend/embed.go

.PHONY: clean
clean: ## remove build output
	rm -rf bin frontend/dist/assets frontend/dist/index.html e2e/test-results e2e/playwright-report
