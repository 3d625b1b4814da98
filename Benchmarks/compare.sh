#!/usr/bin/env bash
# Benchmarks/compare.sh OLD_BIN NEW_BIN — the start path of two builds side by side, for a change that must
# not slow it (a refactor): `crun-fast --version`, `crun-fast run /bin/true` on a bundle's rootfs and on a
# lazyfs root (the tiny fixture: the image resolved, mounted by `lazyfs mount`, overlaid, unmounted at
# delete), and `lazyfs mount` + `lazyfs umount` of the tiny image. Each directory holds a `lazyfs` and a
# `crun-fast` (e.g. a copy of .build/release from before the change, and .build/release). ROUNDS rounds
# (default 8) of RUNS runs each (default 25), old and new interleaved within each round (alternating which
# goes first) so that drift in the machine's speed falls on both; prints a markdown table of medians and p99 over the pooled runs and the
# ratio new / old. Needs root, cc, python3 and the tiny fixture (`make fixtures`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
old=$(cd "${1:?usage: compare.sh OLD_BIN NEW_BIN}" && pwd)
new=$(cd "${2:?usage: compare.sh OLD_BIN NEW_BIN}" && pwd)
rounds=${ROUNDS:-8}
runs=${RUNS:-25}
fixtures=${LAZYFS_FIXTURES:-/var/cache/lazyfs-fixtures}
[[ -e $fixtures/tiny/rootfs.tar ]] || { echo "compare.sh: no tiny fixture in $fixtures (make fixtures)" >&2; exit 1; }

work=$(mktemp -d /tmp/compare.XXXXXX)
root=/run/compare-$$
cleanup() {
	for side in old new; do
		for id in $(ls "$root/$side" 2>/dev/null | grep -v '^@'); do
			"${!side}/crun-fast" --root "$root/$side" delete --force "$id" >/dev/null 2>&1 || true
		done
		mountpoint -q "$work/mnt-$side" && "${!side}/lazyfs" umount "$work/mnt-$side" || true
	done
	rm -rf "$work" "$root"
}
trap cleanup EXIT

cc -O2 -o "$work/spawnbench" "$here/spawnbench.c"
"$new/lazyfs" import --store "$work/store" --name tiny "$fixtures/tiny/rootfs.tar" >/dev/null
mkdir -p "$work/bundle" "$work/lazy" "$work/mnt-old" "$work/mnt-new" "$root/old" "$root/new"
cp -a "$fixtures/tiny/rootfs" "$work/bundle/rootfs"
mkdir -p "$work/bundle/rootfs/proc" "$work/bundle/rootfs/sys" "$work/bundle/rootfs/dev"
(cd "$work/bundle" && "$new/crun-fast" spec)
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
spec = json.load(open(f"{work}/bundle/config.json"))
spec["process"]["args"] = ["/bin/true"]
spec["process"]["terminal"] = False
json.dump(spec, open(f"{work}/bundle/config.json", "w"), indent=2)
del spec["root"]["path"]
spec["annotations"] = {"org.lazyfs.image": "tiny", "org.lazyfs.store": f"{work}/store"}
json.dump(spec, open(f"{work}/lazy/config.json", "w"), indent=2)
PY

cases=(version run lazyrun mount)
command_of() { # CASE SIDE -> the spawnbench command sequence
	local bin=${!2}
	case $1 in
	version) echo "$bin/crun-fast --version" ;;
	run) echo "$bin/crun-fast --root $root/$2 run --bundle $work/bundle @ID@" ;;
	lazyrun) echo "$bin/crun-fast --root $root/$2 run --bundle $work/lazy @ID@" ;;
	mount) echo "$bin/lazyfs mount --store $work/store tiny $work/mnt-$2 ; $bin/lazyfs umount $work/mnt-$2" ;;
	esac
}
for ((r = 0; r < rounds; r++)); do
	# Which build goes first alternates, so that neither always runs on the caches the other warmed.
	order="old new"
	((r % 2)) && order="new old"
	for c in "${cases[@]}"; do
		for side in $order; do
			# shellcheck disable=SC2046
			# Each crun-fast runs its own build's lazyfs (LAZYFS_BIN, which the Makefile exports, would make both
			# run the same one).
			(cd "$work/bundle" && LAZYFS_BIN=${!side} "$work/spawnbench" --raw "$work/$c-$side.raw" "$runs" \
				$(command_of "$c" "$side")) >/dev/null
		done
	done
done
echo "| what | old median ms | new median ms | new / old | old p99 ms | new p99 ms |"
echo "|---|---:|---:|---:|---:|---:|"
python3 - "$work" "${cases[@]}" <<'PY'
import statistics, sys
work, cases = sys.argv[1], sys.argv[2:]
names = {"version": "crun-fast --version", "run": "crun-fast run /bin/true", "lazyrun": "crun-fast run /bin/true, lazyfs root (tiny)",
         "mount": "lazyfs mount + umount (tiny)"}
def load(case, side):
    return sorted(float(x) for x in open(f"{work}/{case}-{side}.raw"))
for case in cases:
    o, n = load(case, "old"), load(case, "new")
    p99 = lambda v: v[min(len(v) - 1, int(len(v) * 0.99))]
    mo, mn = statistics.median(o), statistics.median(n)
    print(f"| {names[case]} | {mo:.2f} | {mn:.2f} | {mn / mo:.3f} | {p99(o):.2f} | {p99(n):.2f} |")
PY
echo
echo "$rounds rounds of $runs runs per command and build, interleaved; \`Benchmarks/compare.sh $1 $2\`"
