#!/usr/bin/env bash
# Benchmarks/import.sh — import throughput, storage and dedup, each against a baseline run in the same
# script on the same machine: `tar -xf` of the same tar (throughput), `tar | zstd -3` of the same tree
# (bytes stored). Writes a markdown table to stdout. Fixtures: python (required), debian, ml (if built).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${LAZYFS_BIN:-$here/.build/release}
fx=${LAZYFS_FIXTURES:-/var/cache/lazyfs-fixtures}
work=${BENCH_DIR:-/var/tmp/lazyfs-bench}
runs=${BENCH_RUNS:-3}
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "| fixture | zstd level | input (MB) | lazyfs import (MB/s) | tar -xf (MB/s) | import / tar-x speed |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in python:3 python:1 ml:3 ml:1; do
	name=${spec%:*} level=${spec#*:}
	tar=$fx/$name/rootfs.tar
	[[ -f $tar ]] || continue
	bytes=$(stat -c %s "$tar")
	cat "$tar" >/dev/null # both read the tar from the page cache
	imp=() ext=()
	for _ in $(seq "$runs"); do
		rm -rf "$work/store" "$work/x" && mkdir "$work/x" && sync
		t0=$(now); "$bin/lazyfs" import --level "$level" --store "$work/store" "$tar" >/dev/null; t1=$(now)
		imp+=("$(awk -v a="$t0" -v b="$t1" -v n="$bytes" 'BEGIN {print n / (b - a) / 1e6}')")
		sync
		t0=$(now); tar -xf "$tar" -C "$work/x"; t1=$(now)
		ext+=("$(awk -v a="$t0" -v b="$t1" -v n="$bytes" 'BEGIN {print n / (b - a) / 1e6}')")
	done
	i=$(printf '%s\n' "${imp[@]}" | median) e=$(printf '%s\n' "${ext[@]}" | median)
	printf '| %s | %s | %s | %.0f | %.0f | %s |\n' "$name" "$level" "$(mb "$bytes")" "$i" "$e" "$(ratio "$i" "$e")"
done
rm -rf "$work/x"

echo
echo "| store contents | stored (MB) | tar \\| zstd -3 of python (MB) | ratio |"
echo "|---|---:|---:|---:|"
zst=$(zstd -3 -T1 -c "$fx/python/rootfs.tar" | wc -c)
rm -rf "$work/store" && "$bin/lazyfs" import --store "$work/store" "$fx/python/rootfs.tar" >/dev/null
alone=$(du -sb "$work/store" | cut -f1)
printf '| python | %s | %s | %s |\n' "$(mb "$alone")" "$(mb "$zst")" "$(ratio "$alone" "$zst")"
if [[ -f $fx/debian/rootfs.tar ]]; then
	rm -rf "$work/store" && "$bin/lazyfs" import --store "$work/store" "$fx/debian/rootfs.tar" >/dev/null
	deb=$(du -sb "$work/store" | cut -f1)
	"$bin/lazyfs" import --store "$work/store" "$fx/python/rootfs.tar" >/dev/null
	both=$(du -sb "$work/store" | cut -f1)
	printf '| debian + python | %s | %s | %s |\n' "$(mb "$both")" "$(mb "$zst")" "$(ratio "$both" "$zst")"

	# What python adds: its regular files that debian lacks or holds with other content, in a store alone.
	python3 - "$fx/debian/rootfs" "$fx/python/rootfs" >"$work/delta.list" <<'PY'
import hashlib, os, sys
deb, py = sys.argv[1], sys.argv[2]
def digest(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).digest()
for d, _, files in os.walk(py):
    for n in files:
        p = os.path.join(d, n)
        rel = os.path.relpath(p, py)
        q = os.path.join(deb, rel)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        if os.path.isfile(q) and not os.path.islink(q) and digest(p) == digest(q):
            continue
        print(rel)
PY
	tar -cf "$work/delta.tar" -C "$fx/python/rootfs" --no-recursion -T "$work/delta.list"
	rm -rf "$work/dstore" && "$bin/lazyfs" import --store "$work/dstore" "$work/delta.tar" >/dev/null
	delta=$(du -sb "$work/dstore" | cut -f1)
	echo
	echo "| dedup | MB |"
	echo "|---|---:|"
	printf '| store growth, python imported after debian | %s |\n' "$(mb $((both - deb)))"
	printf '| what python adds (its new or changed files, stored alone) | %s |\n' "$(mb "$delta")"
	printf '| growth / what python adds | %s |\n' "$(ratio $((both - deb)) "$delta")"
	printf '| python alone / growth after debian (dedup factor) | %s |\n' "$(ratio "$alone" $((both - deb)))"
fi
