# rearview: the two set-up commands are `make demo` and `make test` (Debian, as root).
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/debug/rearview
RELEASE_BIN := .build/release/rearview
DEMO_STORE := demo-out/store
APT_PACKAGES := liblz4-dev libpcre2-dev libbpf-dev libelf-dev zlib1g-dev libssl-dev libsqlite3-dev openssl bpftool jq zstd ripgrep lz4 python3 sqlite3 \
  chromium rsyslog rsyslog-openssl python3-jsonschema groff-base
# Baselines the recorder benchmark runs against (issue 4); GNU time for the scale part's peak RSS and
# pip for DuckDB, the store's columnar baseline (issue 14).
BENCH_PACKAGES := auditd bpftrace time python3-pip
# Events of the scale part (issue 14): `make bench BENCH_SCALE=0` skips it.
BENCH_SCALE ?= 10000000

.PHONY: deps install-packages build test stress fuzz demo bench soak man mounts clean

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(APT_PACKAGES)"

install-packages:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
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

# libFuzzer targets (Fuzz/): each runs FUZZ_SECONDS from the seeds in Fuzz/seeds and the inputs that
# once crashed it (Fuzz/regressions, replayed first); a crash stops with its input in .build-fuzz/.
FUZZ_SECONDS ?= 60
FUZZERS := FuzzKubeArmorJSON FuzzBlockDecoder FuzzFilterParser FuzzPolicyLoader FuzzHTTPResponse
fuzz: deps
	@for f in $(FUZZERS); do \
	  REARVIEW_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz -Xswiftc -use-ld=lld --product $$f || exit 1; \
	done
	@for f in $(FUZZERS); do \
	  mkdir -p .build-fuzz/corpus/$$f Fuzz/regressions/$$f; \
	  echo "== $$f ($(FUZZ_SECONDS) s)"; \
	  SWIFT_BACKTRACE=enable=no .build-fuzz/release/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=.build-fuzz/$$f- .build-fuzz/corpus/$$f Fuzz/regressions/$$f Fuzz/seeds/$$f 2>&1 \
	    | grep -E "stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Test unit written" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

# The long crash and disk-full harness: 200 SIGKILLs of import and record at random points.
stress: deps mounts
	$(SWIFT) build --build-tests
	REARVIEW_STRESS_KILLS=200 $(SWIFT) test --skip-build --filter 'CrashSafetyTests|DiskFullTests'

demo: build mounts
	@rm -rf demo-out && mkdir -p demo-out
	@if [ "$$(id -u)" = 0 ]; then \
	  echo "== record a short live session on this host (5 s) while a shell runs ps, pgrep and cat"; \
	  ( sleep 2.5; bash -c 'ps >/dev/null; pgrep -x init >/dev/null; sh -c "cat /etc/hostname" >/dev/null' ) & \
	  $(BIN) record --store demo-out/live --duration 5s --max-size 256M \
	    --keep-around 'ProcessName = /usr/bin/pgrep' --keep-window 1m || echo "(recording unavailable here: see the message above)"; \
	  echo "== as a flight recorder it keeps a rolling window within --max-size, and pins the minute around pgrep"; \
	  $(BIN) info --store demo-out/live | grep -E '^(pinned|coverage)' || true; \
	  wait; \
	  $(BIN) query --store demo-out/live 'Operation = Process and ProcessName in (/usr/bin/ps, /usr/bin/pgrep, /usr/bin/cat)' \
	    --columns Time,HostPID,ProcessName,Resource,Data --format table || true; \
	  echo "== the recorded shell's tree: fork, exec chains and exit codes"; \
	  $(BIN) tree --store demo-out/live 'ProcessName = /usr/bin/pgrep' --ancestors --depth 3 || true; \
	else echo "== (not root: skipping the live recording)"; fi
	@echo "== import the demo incident (samples/demo-incident.ndjson) and the AccuKnox alerts as pasted from their page"
	$(BIN) import --store $(DEMO_STORE) samples/demo-incident.ndjson samples/logs/accuknox-alerts-as-shown.txt
	@echo "== what the store holds"
	$(BIN) info --store $(DEMO_STORE)
	@echo "== the same incident gzip-compressed on stdin: read in chunks, memory bounded; the busiest processes, counted on the columns"
	gzip -c samples/demo-incident.ndjson | $(BIN) import --store demo-out/streamed -
	$(BIN) query --store demo-out/streamed --group-by ProcessName --limit 5 --format table
	@echo "== the discovery hunt: who ran ps or pgrep?"
	$(BIN) query --store $(DEMO_STORE) 'Operation = Process and ProcessName in (/usr/bin/ps, /usr/bin/pgrep)' \
	  --columns Time,HostName,PodName,HostPID,ParentProcessName,Resource --format table --limit 8
	@echo "== alerts by policy and action"
	$(BIN) query --store $(DEMO_STORE) --type alert --group-by PolicyName,Action --format table
	@echo "== the blocked operations, as KubeArmor records"
	$(BIN) query --store $(DEMO_STORE) --action block --format kubearmor
	@echo "== the blocked operations on a timeline, each with the lineage of its process"
	$(BIN) timeline --store $(DEMO_STORE) --action block
	@echo "== where did the blocked apt-get come from? (its ancestors)"
	$(BIN) tree --store $(DEMO_STORE) --pid 9939 --ancestors
	@echo "== and everything the web shell (HostPID 9893) started"
	$(BIN) tree --store $(DEMO_STORE) --pid 9893 --descendants
	@echo "== what happened in the wordpress pod from the web shell on, in order"
	$(BIN) timeline --store $(DEMO_STORE) --pod wordpress --since 2024-05-31T10:07:13Z --until 2024-05-31T10:07:47Z 'HostPID >= 9893'
	@echo "== what would the process-discovery policies have caught? (re-evaluated over the history)"
	$(BIN) evaluate --store $(DEMO_STORE) --policy samples/policies --summary --format table
	$(BIN) evaluate --store $(DEMO_STORE) --policy samples/policies --format table --limit 5 \
	  --columns Time,HostName,PodName,HostPID,Resource,PolicyName,Action
	@echo "== importing the same file again adds nothing; the store verifies"
	$(BIN) import --store $(DEMO_STORE) samples/demo-incident.ndjson
	$(BIN) verify --store $(DEMO_STORE)
	@echo "== retention: a copy in small segments, its history before the web shell pruned; verify still proves the rest of the chain"
	$(BIN) import --store demo-out/pruned --segment-size 8K --block-events 256 samples/demo-incident.ndjson
	$(BIN) prune --store demo-out/pruned --before 2024-05-31T10:07:13Z
	$(BIN) verify --store demo-out/pruned
	$(BIN) info --store demo-out/pruned | grep -E '^(events|retired|coverage)'
	@echo "== the blocked operations for a SIEM: ECS, OCSF, CEF and RFC 5424 syslog (one record each)"
	@for f in ecs ocsf cef syslog; do $(BIN) export --store $(DEMO_STORE) --format $$f --action block --out demo-out/blocked.$$f; head -1 demo-out/blocked.$$f | cut -c1-240; done
	@echo "== the incident report of the web shell: one self-contained HTML file (and Markdown)"
	$(BIN) report --store $(DEMO_STORE) --around 9893 --window 10m --policy samples/policies --out demo-out/report.html
	$(BIN) report --store $(DEMO_STORE) --around 9893 --window 10m --format md --out demo-out/report.md
	@echo "report: $$(pwd)/demo-out/report.html (Markdown: $$(pwd)/demo-out/report.md)"

bench: deps mounts
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BENCH_PACKAGES)"
	@python3 -c 'import duckdb' 2>/dev/null || PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q duckdb
	$(SWIFT) build -c release --product rearview
	$(SWIFT) build -c release --product RearviewBench
	.build/release/RearviewBench --rearview $(RELEASE_BIN) --scale $(BENCH_SCALE)

# The flight-recorder soak (issue 17): `make soak SOAK_SECONDS=600`.
SOAK_SECONDS ?= 600
soak: deps mounts
	$(SWIFT) build -c release --product rearview
	$(SWIFT) build -c release --product RearviewBench
	.build/release/RearviewBench --rearview $(RELEASE_BIN) --only soak --soak-seconds $(SOAK_SECONDS)

man:
	$(SWIFT) build --product rearview
	$(SWIFT) run ManualPageWriter .build/debug/rearview man "$$(date -u '+%B %-d, %Y')"
	@ls man

clean:
	rm -rf .build demo-out
