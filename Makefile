# lazyfs / crun-fast. Every target is idempotent and safe on a fresh Debian 12 machine as root.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
BUILD_FLAGS := -c $(CONFIG)
# Where `swift build -c $(CONFIG)` puts the binaries (a symlink to the platform directory).
export LAZYFS_BIN := $(CURDIR)/.build/$(CONFIG)
export LAZYFS_FIXTURES ?= /var/cache/lazyfs-fixtures

# Native packages: C libraries we link, and the real tools the fixtures and tests use.
DEB_PACKAGES := pkg-config libfuse3-dev fuse3 libseccomp-dev libcap-dev libzstd-dev zstd zlib1g-dev \
	libcurl4-openssl-dev umoci skopeo busybox-static debootstrap python3 attr squashfuse squashfs-tools nginx \
	runc crun gcc libc6-dev libnetfilter-queue-dev iptables iproute2 curl

.PHONY: deps build lint format test bench bench-coldstart demo fixtures clean

deps:
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEB_PACKAGES) 2>/dev/null | awk '$$NF!="installed"{print $$1}'; \
	  for p in $(DEB_PACKAGES); do dpkg-query -W $$p >/dev/null 2>&1 || echo $$p; done); \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$${missing// /}" ]; then \
	  echo "make deps: installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks

format:
	$(SWIFT) format --in-place --recursive --parallel Package.swift Sources Tests Benchmarks

# tiny and hostile are built locally; debian and python come from the Debian mirror (cached after once).
fixtures: deps
	Fixtures/build tiny hostile debian python

test: deps build lint fixtures
	$(SWIFT) test $(BUILD_FLAGS)
	@# The cold-start benchmark in its short form (one run, default link): proves the whole path works.
	Benchmarks/coldstart.sh --short

# The cold-start report: BENCHMARKS.md's table comes from Benchmarks/results/coldstart.md, the chart beside it.
bench-coldstart: build fixtures
	@mkdir -p Benchmarks/results
	{ echo "# Cold start"; echo; Benchmarks/coldstart.sh; } | tee Benchmarks/results/coldstart.md.tmp
	mv Benchmarks/results/coldstart.md.tmp Benchmarks/results/coldstart.md

bench: build fixtures
	Benchmarks/run

demo: build fixtures
	Benchmarks/demo

clean:
	rm -rf .build
