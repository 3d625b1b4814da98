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
fixtures=${LAZYFS_FIXTURES:-/var/cache/lazyfs-fixtures}
# The tiny fixture's root file system (static busybox), copied so that the mount points the runtimes make
# do not land in the fixture cache; without the fixture, a root of busybox alone.
if [[ -x $fixtures/tiny/rootfs/bin/busybox ]]; then
	mkdir -p "$bundle"
	cp -a "$fixtures/tiny/rootfs" "$bundle/rootfs"
	rootfs_from="the tiny fixture's root file system (static busybox)"
else
	mkdir -p "$bundle/rootfs/bin"
	cp /bin/busybox "$bundle/rootfs/bin/busybox"
	ln -s busybox "$bundle/rootfs/bin/true"
	rootfs_from="a root file system of static busybox alone (no tiny fixture)"
fi
mkdir -p "$bundle/rootfs/proc" "$bundle/rootfs/sys" "$bundle/rootfs/dev"
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
crun_row() {
	if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
		unshare -m sh -c "umount /sys/fs/cgroup/unified && $*"
	else
		sh -c "$*"
	fi
}
# `run` of the runtimes, interleaved: $rounds rounds, each running every runtime $runs/$rounds times in turn
# (the order rotated every round), so that whatever else the machine does (the kernel freeing the last
# runs' network namespaces, say) falls on all alike; the rows pool each runtime's times.
rounds=10
per=$(((runs + rounds - 1) / rounds))
raw=$work/raw
mkdir -p "$raw"
runtimes=(cf)
command -v crun >/dev/null && runtimes+=(crun)
command -v runc >/dev/null && runtimes+=(runc)
one_round() { # one_round NAME: $per runs of NAME's `run`, times appended to $raw/NAME, failures counted
	local result
	case $1 in
	cf) result=$("$sb" --raw "$raw/cf" "$per" "$crunfast" --root "$roots/cf" run @ID@) || true ;;
	crun) result=$(crun_row "$sb --raw $raw/crun $per crun --root $roots/crun run @ID@") || true ;;
	runc) result=$("$sb" --raw "$raw/runc" "$per" runc --root "$roots/runc" run @ID@) || true ;;
	esac
	echo "${result##* }" >>"$raw/$1.failures"
}
for r in $(seq 0 $((rounds - 1))); do
	for k in $(seq 0 $((${#runtimes[@]} - 1))); do one_round "${runtimes[(r + k) % ${#runtimes[@]}]}"; done
done
pooled() { # pooled NAME: "median p99 min failures" of the times of every round
	python3 - "$raw/$1" <<'PY'
import os, sys
path = sys.argv[1]
t = sorted(float(x) for x in open(path)) if os.path.exists(path) else []
failures = sum(int(x) for x in open(path + ".failures") if x.strip().isdigit())
if not t:
    print(f"- - - {failures}")
else:
    print(f"{t[len(t) // 2]:.2f} {t[min(len(t) - 1, int(len(t) * 0.99))]:.2f} {t[0]:.2f} {failures}")
PY
}
# How fast this machine starts any process right now (busybox is static; most of it is glibc's start-up,
# whose CPUID instructions each trap to the hypervisor): the yardstick for the absolute figures below.
row "busybox true (any process start, for scale)" "$sb" "$runs" /bin/busybox true
row "crun-fast --version" "$sb" "$runs" "$crunfast" --version
row "crun-fast run /bin/true" pooled cf
if command -v runc >/dev/null; then
	row "runc --version" "$sb" "$runs" runc --version
	row "runc run /bin/true" pooled runc
fi
if command -v crun >/dev/null; then
	row "crun run /bin/true (private mount ns)" pooled crun
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
if [[ -x $bin/lazyfs && -e $fixtures/tiny/rootfs.tar ]]; then
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

# Where a start spends its time: crun-fast's own phase marks (CRUN_FAST_TIMELINE), median of each phase
# over the runs; "exec and load" is the rest of the whole command's median (the kernel's execve of
# crun-fast, its start-up before main, and its exit).
timeline=$work/timeline.txt
read -r total _ < <(CRUN_FAST_TIMELINE=$timeline "$sb" "$runs" "$crunfast" --root "$roots/cf" run @ID@)
if command -v crun >/dev/null; then
	read -r cf_median _ < <(pooled cf)
	read -r crun_median _ < <(pooled crun)
	echo
	echo "\`run\` of ${runtimes[*]} (cf = crun-fast) interleaved in $rounds rounds of $per each, the order rotated"
	echo "every round; crun-fast / crun median: $(python3 -c "print(f'{$cf_median / $crun_median:.2f}')") ×."
fi
echo
echo "Where \`crun-fast run /bin/true\` spends its time (median of each phase over $runs runs, total $total ms):"
echo
python3 - "$timeline" "$total" <<'PY'
import statistics, sys
rows = [dict((k, int(v)) for k, v in (kv.split("=") for kv in line.split()[1:])) for line in open(sys.argv[1])]
names = {"config": "read and decode config.json", "plan": "plan: mounts, devices, seccomp, capabilities",
         "cgroup": "create the cgroup and set its limits", "clone": "clone3 into new namespaces",
         "state": "write state.json (while the init sets up)", "init_ready": "init: mounts, pivot_root, ... ready",
         "exec": "start: init's execve", "exited": "/bin/true runs and exits, namespaces torn down",
         "deleted": "delete: cgroup, state"}
keys = list(rows[0])
ends = {k: statistics.median(r[k] for r in rows) / 1000 for k in keys}
print("| phase | ms |")
print("|---|---:|")
previous = 0.0
for k in keys:
    print(f"| {names.get(k, k)} | {ends[k] - previous:.2f} |")
    previous = ends[k]
print(f"| exec and load of crun-fast, exit (rest of the total) | {float(sys.argv[2]) - previous:.2f} |")
PY

# From `create` called to the container's first instruction, with the root a lazyfs image of the python
# fixture (mounted and overlaid per container), and the same from `run`. The stamp is taken inside the
# container, and the `delete` after each create/start runs once it is there, untimed.
if [[ -x $bin/lazyfs && -e $fixtures/python/rootfs.tar ]]; then
	cc -O2 -static -DSTAMP -o "$work/stamp" "$here/spawnbench.c"
	touch "$work/stamp.out"
	"$bin/lazyfs" import --store "$work/store" --name python "$fixtures/python/rootfs.tar" >/dev/null
	py=$work/python-bundle
	native=$work/python-native
	mkdir -p "$py" "$native"
	python3 - "$bundle/config.json" "$work" "$fixtures/python/rootfs" <<'PY'
import json, sys
base, work, rootfs = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def write(path, args, lazy, stamp):
    spec = json.loads(json.dumps(base))
    spec["process"]["args"] = args
    if lazy:
        del spec["root"]["path"]
        spec["annotations"] = {"org.lazyfs.image": "python", "org.lazyfs.store": work + "/store"}
    else:
        spec["root"]["path"] = rootfs
    if stamp:
        spec["mounts"] += [
            {"destination": "/stamp", "type": "bind", "source": work + "/stamp", "options": ["bind", "ro"]},
            {"destination": "/stamp.out", "type": "bind", "source": work + "/stamp.out", "options": ["bind"]}]
    json.dump(spec, open(path, "w"), indent=2)
write(work + "/python-bundle/config.json", ["/stamp"], True, True)
numpy = ["python3", "-c", "import numpy"]
for name, lazy in (("lazy-numpy", True), ("native-numpy", False)):
    import os
    os.makedirs(f"{work}/{name}", exist_ok=True)
    write(f"{work}/{name}/config.json", numpy, lazy, False)
PY
	echo
	echo "From the runtime called to the container's first instruction (a static program that records"
	echo "CLOCK_MONOTONIC), root = lazyfs image of the python fixture, mounted and overlaid per container:"
	echo
	echo "| what | median ms | p99 ms | min ms | failures |"
	echo "|---|---:|---:|---:|---:|"
	lazyruns=$((runs / 4 > 30 ? runs / 4 : 30))
	row "crun-fast create; start (python image, lazyfs root)" "$sb" --stamp "$work/stamp.out" "$lazyruns" \
		"$crunfast" --root "$roots/cf" create --bundle "$py" @ID@ \; "$crunfast" --root "$roots/cf" start @ID@ + \
		"$crunfast" --root "$roots/cf" delete --force @ID@
	row "crun-fast run (python image, lazyfs root)" "$sb" --stamp "$work/stamp.out" "$lazyruns" \
		"$crunfast" --root "$roots/cf" run --bundle "$py" @ID@
	# Containers of one root share one lazyfs mount of their image: with another container holding the
	# image mounted, a start mounts only its overlay.
	"$crunfast" --root "$roots/cf" create --bundle "$py" holder >/dev/null
	row "crun-fast create; start (python image already mounted)" "$sb" --stamp "$work/stamp.out" "$lazyruns" \
		"$crunfast" --root "$roots/cf" create --bundle "$py" @ID@ \; "$crunfast" --root "$roots/cf" start @ID@ + \
		"$crunfast" --root "$roots/cf" delete --force @ID@
	row "crun-fast run (python image already mounted)" "$sb" --stamp "$work/stamp.out" "$lazyruns" \
		"$crunfast" --root "$roots/cf" run --bundle "$py" @ID@
	"$crunfast" --root "$roots/cf" delete --force holder

	# Image to running: from the image in the local store to `python3 -c "import numpy"` finished, hot and
	# with the page cache dropped before each run; against the same through crun-fast and runc on the
	# tree already extracted on ext4, and the usual way cold: extract the tar, then runc.
	echo
	echo "Image to running: \`python3 -c \"import numpy\"\` finished (python fixture, 206 MB tree):"
	echo
	echo "| what | hot median ms | cold median ms |"
	echo "|---|---:|---:|"
	cold() { # cold N CMD… : median ms over N runs, page cache dropped before each
		local n=$1 i t0 t1
		shift
		for ((i = 0; i < n; i++)); do
			sync
			echo 3 >/proc/sys/vm/drop_caches
			t0=$(date +%s%N)
			"$@" >/dev/null 2>&1 || echo "failed: $*" >&2
			t1=$(date +%s%N)
			echo $(((t1 - t0) / 1000))
		done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
	}
	id=0
	next() { id=$((id + 1)); echo "img-$$-$id"; }
	hot() { "$sb" 10 "$@" | awk '{print $1}'; }
	printf '| crun-fast, lazyfs root, first container on the image (mounts it) | %s | %s |\n' \
		"$(hot "$crunfast" --root "$roots/cf" run --bundle "$work/lazy-numpy" @ID@)" \
		"$(cold 5 sh -c "\"$crunfast\" --root \"$roots/cf\" run --bundle \"$work/lazy-numpy\" \$0" "$(next)")"
	"$crunfast" --root "$roots/cf" create --bundle "$work/lazy-numpy" holder >/dev/null
	printf '| crun-fast, lazyfs root, image already mounted by another container | %s | %s |\n' \
		"$(hot "$crunfast" --root "$roots/cf" run --bundle "$work/lazy-numpy" @ID@)" \
		"$(cold 5 sh -c "\"$crunfast\" --root \"$roots/cf\" run --bundle \"$work/lazy-numpy\" \$0" "$(next)")"
	"$crunfast" --root "$roots/cf" delete --force holder
	printf '| crun-fast, extracted tree | %s | %s |\n' \
		"$(hot "$crunfast" --root "$roots/cf" run --bundle "$work/native-numpy" @ID@)" \
		"$(cold 5 sh -c "\"$crunfast\" --root \"$roots/cf\" run --bundle \"$work/native-numpy\" \$0" "$(next)")"
	if command -v runc >/dev/null; then
		printf '| runc, extracted tree | %s | %s |\n' \
			"$(hot runc --root "$roots/runc" run --bundle "$work/native-numpy" @ID@)" \
			"$(cold 5 sh -c "runc --root \"$roots/runc\" run --bundle \"$work/native-numpy\" \$0" "$(next)")"
		mkdir -p "$work/usual"
		python3 - "$work/native-numpy/config.json" "$work/usual/config.json" "$work/usual/rootfs" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["root"]["path"] = sys.argv[3]
json.dump(spec, open(sys.argv[2], "w"), indent=2)
PY
		printf '| the usual way: tar -xf, then runc | - | %s |\n' \
			"$(cold 3 sh -c "rm -rf \"$work/usual/rootfs\" && mkdir \"$work/usual/rootfs\" && tar -xf \"$fixtures/python/rootfs.tar\" -C \"$work/usual/rootfs\" && sync && runc --root \"$roots/runc\" run --bundle \"$work/usual\" \$0" "$(next)")"
	fi
	echo
	echo "Hot: 10 runs; cold: 5 runs (3 for the usual way), each after sync and drop_caches."
fi
echo
echo "$runs runs each; /bin/true of $rootfs_from, in runc's default configuration (pid, network, ipc, uts and mount"
echo "namespaces, read-only root, default mounts and devices); $(nproc) cores; cgroups $(test -e /sys/fs/cgroup/cgroup.controllers && echo v2 || echo v1)."
