# tsvswitch — build, test, bench, demo. Every target installs what it is missing itself, so a
# fresh machine (Node 20, npm, python3, make, g++, iproute2) needs nothing else.
SHELL := /bin/bash
NODE_DIR ?= $(shell dirname $$(dirname $$(readlink -f $$(which node))))
ADDON := native/build/Release/tvs_native.node
# The comparison bench's paced UDP generator (one C file, the system compiler).
PACEGEN := dist/bench/tools/pacegen
TS_SOURCES := $(shell find src lab test bench scripts -name '*.ts' 2>/dev/null)
NATIVE_SOURCES := $(wildcard native/src/*.c native/src/*.h) native/binding.gyp
# Debian packages each target drives as real peers. Installed without recommends, so the demo
# does not pull QEMU or GUI libraries (tshark without wireshark-qt). The demo's DHCP client is
# busybox's udhcpc.
DEMO_DEBS := iperf3 tcpdump iputils-ping iproute2 procps busybox-static
TEST_DEBS := iperf3 tcpdump tshark netsniff-ng ethtool iputils-ping busybox-static isc-dhcp-client procps iproute2 traceroute qemu-system-x86 openvswitch-switch python3-os-ken
# The side-by-side benchmark (bench/compare): the peers' tools, Open vSwitch (started by hand in a
# private directory, never as a service) and nftables for the kernel router.
BENCH_DEBS := iperf3 netsniff-ng openvswitch-switch ethtool nftables iputils-ping iproute2 util-linux procps

# $(call install-debs,PACKAGES,WHAT-SKIPS): install the missing ones (apt-get update first); as
# non-root only say what will skip. Missing: not "installed" (a removed package whose config
# files are left is known to `dpkg -s` but has no programs).
define install-debs
@missing=""; for p in $(1); do [ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" != 0 ]; then echo "not root: cannot install$$missing ($(2))"; exit 0; fi; \
  echo "installing:$$missing"; \
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
fi
endef

.PHONY: test-big all build deps debs test-debs demo-debs native ts pacegen test test-unit fuzz soak bench bench-tunnel demo demo-overlay clean

all: build

build: deps native ts pacegen

deps: node_modules/.installed

node_modules/.installed: package.json
	npm install --no-audit --no-fund
	touch $@

debs: test-debs

test-debs:
	$(call install-debs,$(TEST_DEBS),tests that need them will skip)

demo-debs:
	$(call install-debs,$(DEMO_DEBS),the demo needs them)

native: $(ADDON)

# node-gyp builds against the local Node headers (--nodedir): nothing is downloaded.
$(ADDON): $(NATIVE_SOURCES) node_modules/.installed
	cd native && ../node_modules/.bin/node-gyp rebuild --nodedir=$(NODE_DIR) --loglevel=warn

pacegen: $(PACEGEN)

$(PACEGEN): bench/tools/pacegen.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -o $@ $<

ts: dist/.built

dist/.built: $(TS_SOURCES) tsconfig.json node_modules/.installed
	node_modules/.bin/tsc -p .
	touch $@

test: build test-debs
	node scripts/run-tests.js

test-unit: build
	node scripts/run-tests.js dist/test/unit

# Opt-in (minutes, ~3 GB RSS): add-flows of 1,000,000 flows through the CLI; make test does 100,000.
test-big: build
	TVS_ADD_FLOWS=1000000 node scripts/run-tests.js dist/test/integration/add-flows-big.test.js

# Longer frame fuzz than `make test` runs: FRAMES (default 20,000,000) with a new seed each run
# (printed in the test name; replay a failure with SEED=N).
FRAMES ?= 20000000
fuzz: build
	TVS_FUZZ_FRAMES=$(FRAMES) TVS_FUZZ_SEED=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} node scripts/run-tests.js dist/test/unit/fuzz-frames.test.js

# Soak: mixed load (fuzzed frames, NAT/MAC/flow churn, port removal under traffic) for
# SOAK_SECONDS (default 600) with RSS sampled every second; writes soak-results/soak-rss.svg.
SOAK_SECONDS ?= 600
soak: build
	node dist/test/fuzz/soak.js $(SOAK_SECONDS) soak-results

# Every benchmark; the side-by-side comparison reads TVS_BENCH_* (TVS_BENCH_QUICK=1 for a short run,
# TVS_BENCH_VARIANT: tvs's second ping pass, default `--wake-ahead-us 0`): bench/results/README.md.
bench: build test-debs
	$(call install-debs,$(BENCH_DEBS),the comparison will skip what needs them)
	node dist/bench/run.js

# VM -> VXLAN -> VM between two tvs nodes beside tvs L2 and the kernel (also part of bench).
bench-tunnel: build test-debs
	node dist/bench/compare/tunnel.js

demo: build demo-debs
	node dist/scripts/demo.js
	node dist/scripts/demo-overlay.js

# Two tvs compute nodes, Neutron's br-tun, one VXLAN and one GRE tenant (also part of demo).
demo-overlay: build demo-debs
	node dist/scripts/demo-overlay.js

clean:
	rm -rf dist native/build
