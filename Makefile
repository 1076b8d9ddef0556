# rearview: the two set-up commands are `make demo` and `make test` (Debian, as root).
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/debug/rearview
RELEASE_BIN := .build/release/rearview
DEMO_STORE := demo-out/store
APT_PACKAGES := liblz4-dev libpcre2-dev libbpf-dev libelf-dev zlib1g-dev bpftool jq zstd ripgrep lz4 python3 sqlite3

.PHONY: deps build test demo bench man mounts clean

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Filesystems the recorder and its tests need (tracepoints, BPF pin points).
mounts:
	@mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
	@mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true

build: deps
	$(SWIFT) build

test: deps mounts
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: build
	@rm -rf demo-out && mkdir -p demo-out
	@echo "== import the demo incident (samples/demo-incident.ndjson) and the AccuKnox alerts"
	$(BIN) import --store $(DEMO_STORE) samples/demo-incident.ndjson samples/logs/accuknox-alerts-as-shown.txt
	@echo "== what the store holds"
	$(BIN) info --store $(DEMO_STORE)
	@echo "== the blocked apt-get and the alerts around it, as KubeArmor records"
	$(BIN) export --store $(DEMO_STORE) --format kubearmor | grep -m3 '"Action":"Block"'
	@echo "== importing the same file again adds nothing"
	$(BIN) import --store $(DEMO_STORE) samples/demo-incident.ndjson

bench: deps
	$(SWIFT) build -c release --product rearview
	$(SWIFT) build -c release --product RearviewBench
	.build/release/RearviewBench --rearview $(RELEASE_BIN)

man:
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --multi-page --date 2026-11-26 --output-directory man
	@ls man

clean:
	rm -rf .build demo-out
