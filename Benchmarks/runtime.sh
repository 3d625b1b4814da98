#!/usr/bin/env bash
# Benchmarks/runtime.sh — container start-up: `run` of /bin/true (static busybox) under crun-fast, runc and
# crun, create+start+delete as three commands, exec into a container, a lazyfs-rooted run (the tiny fixture,
# when lazyfs and the fixture are there), and `crun-fast --version`; median and p99 over N runs
# each (default 200, at least 100). Prints a markdown table. Needs root, cc, python3 and a built crun-fast
# ($LAZYFS_BIN/crun-fast, else .build/release/crun-fast). crun 1.8 refuses this machine's v1/v2 hybrid
# cgroup layout, so it runs in a private mount namespace with /sys/fs/cgroup/unified unmounted.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runs=${RUNS:-200}
((runs >= 100)) || runs=100
bin=${LAZYFS_BIN:-$here/../.build/release}
crunfast=$bin/crun-fast
[[ -x $crunfast ]] || { echo "runtime.sh: build crun-fast first ($crunfast)" >&2; exit 1; }

work=$(mktemp -d /tmp/crun-fast-bench.XXXXXX)
roots=/run/crun-fast-bench-$$
cleanup() {
	for r in "$roots"/*; do
		[[ -d $r ]] || continue
		for tool in "$crunfast" runc crun; do
			for id in $(ls "$r" 2>/dev/null); do "$tool" --root "$r" delete --force "$id" >/dev/null 2>&1 || true; done
		done
	done
	rm -rf "$work" "$roots"
	for d in /sys/fs/cgroup/*/crun-fast-bench /sys/fs/cgroup/crun-fast-bench; do
		[[ -d $d ]] && find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null && rmdir "$d" 2>/dev/null
	done
	true
}
trap cleanup EXIT

cc -O2 -o "$work/spawnbench" "$here/spawnbench.c"
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/sys" "$bundle/rootfs/dev"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
(cd "$bundle" && "$crunfast" spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["args"] = ["/bin/true"]
spec["linux"]["cgroupsPath"] = "crun-fast-bench/c"
json.dump(spec, open(path, "w"), indent=2)
PY
mkdir -p "$roots"

# bench NAME ARGS… — runs spawnbench and prints one table row.
row() {
	local name=$1
	shift
	read -r median p99 min failures < <("$@")
	printf '| %s | %s | %s | %s | %s |\n' "$name" "$median" "$p99" "$min" "$failures"
}
sb=$work/spawnbench
cd "$bundle"
# Each container gets its own cgroup, so concurrent ids never collide.
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
del spec["linux"]["cgroupsPath"]
json.dump(spec, open(path, "w"), indent=2)
PY

echo "| what | median ms | p99 ms | min ms | failures |"
echo "|---|---:|---:|---:|---:|"
row "crun-fast --version" "$sb" "$runs" "$crunfast" --version
row "crun-fast run /bin/true" "$sb" "$runs" "$crunfast" --root "$roots/cf" run @ID@
if command -v runc >/dev/null; then
	row "runc --version" "$sb" "$runs" runc --version
	row "runc run /bin/true" "$sb" "$runs" runc --root "$roots/runc" run @ID@
fi
if command -v crun >/dev/null; then
	crun_row() {
		if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
			unshare -m sh -c "umount /sys/fs/cgroup/unified && $*"
		else
			sh -c "$*"
		fi
	}
	row "crun run /bin/true (private mount ns)" crun_row "$sb $runs crun --root $roots/crun run @ID@"
fi
row "crun-fast create+start+delete" "$sb" "$runs" "$crunfast" --root "$roots/cf" create @ID@ \; \
	"$crunfast" --root "$roots/cf" start @ID@ \; "$crunfast" --root "$roots/cf" delete --force @ID@
if command -v runc >/dev/null; then
	row "runc create+start+delete" "$sb" "$runs" runc --root "$roots/runc" create @ID@ \; \
		runc --root "$roots/runc" start @ID@ \; runc --root "$roots/runc" delete --force @ID@
fi
if command -v crun >/dev/null; then
	row "crun create+start+delete (private mount ns)" crun_row \
		"$sb $runs crun --root $roots/crun create @ID@ \\; crun --root $roots/crun start @ID@ \\; crun --root $roots/crun delete --force @ID@"
fi
# exec into a container that exists (created: its init waits for start, which is enough to join it).
# Its stdio is /dev/null: a created init keeps what it was given until it runs.
"$crunfast" --root "$roots/cf" create bench-exec >/dev/null 2>&1
row "crun-fast exec /bin/true" "$sb" "$runs" "$crunfast" --root "$roots/cf" exec bench-exec /bin/true
"$crunfast" --root "$roots/cf" delete --force bench-exec
if command -v runc >/dev/null; then
	runc --root "$roots/runc" create bench-exec >/dev/null 2>&1
	row "runc exec /bin/true" "$sb" "$runs" runc --root "$roots/runc" exec bench-exec /bin/true
	runc --root "$roots/runc" delete --force bench-exec
fi
# A lazyfs root: the tiny fixture image imported into a store of its own, mounted and overlaid per start.
fixtures=${LAZYFS_FIXTURES:-/var/cache/lazyfs-fixtures}
if [[ -x $bin/lazyfs && -e $fixtures/tiny/.done ]]; then
	"$bin/lazyfs" import --store "$work/store" --name tiny "$fixtures/tiny/rootfs.tar" >/dev/null
	lazy=$work/lazy-bundle
	mkdir -p "$lazy"
	python3 - "$bundle/config.json" "$lazy/config.json" "$work/store" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
del spec["root"]["path"]
spec["annotations"] = {"org.lazyfs.image": "tiny", "org.lazyfs.store": sys.argv[3]}
json.dump(spec, open(sys.argv[2], "w"), indent=2)
PY
	row "crun-fast run /bin/true, lazyfs root (tiny image)" "$sb" "$runs" "$crunfast" --root "$roots/cf" run \
		--bundle "$lazy" @ID@
fi
echo
echo "$runs runs each; busybox /bin/true in runc's default configuration (pid, network, ipc, uts and mount"
echo "namespaces, read-only root, default mounts and devices); $(nproc) cores; cgroups $(test -e /sys/fs/cgroup/cgroup.controllers && echo v2 || echo v1)."
