#!/usr/bin/env bash
# Benchmarks/lazyfs.sh — lazyfs mount against the same tree on the native disk and on squashfuse_ll (over a
# zstd squashfs of the same tree), all in one run: mount time, metadata walk, full read and
# `python3 -c "import numpy"` in a chroot, each with the page cache dropped and hot, with lazyfs served over
# /dev/fuse and (where the kernel has it: Linux 6.14+) over io_uring, fuse.enable_uring switched on for that
# mount only and put back after; then the numpy import
# through --remote (nginx on loopback) from an empty cache, and `import torch` on the ml fixture (if built).
# Prints markdown to stdout. Needs root, a built lazyfs, the python fixture, mksquashfs, squashfuse_ll, nginx.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${LAZYFS_BIN:-$here/.build/release}
fx=${LAZYFS_FIXTURES:-/var/cache/lazyfs-fixtures}
work=${BENCH_DIR:-/var/tmp/lazyfs-bench-fs}
hot_runs=${BENCH_HOT_RUNS:-11}
cold_runs=${BENCH_COLD_RUNS:-3}
lazyfs=$bin/lazyfs

mounts=()
nginx_pid=
uring_switch=/sys/module/fuse/parameters/enable_uring
uring_was=$(cat "$uring_switch" 2>/dev/null || true)
# uring_mount ARGS…: `lazyfs mount ARGS` with FUSE over io_uring switched on while it mounts (the kernel reads
# the switch only at INIT), then put back as it was.
uring_mount() {
	echo Y >"$uring_switch"
	"$lazyfs" mount "$@"
	echo "$uring_was" >"$uring_switch"
}
cleanup() {
	[[ -n $uring_was ]] && echo "$uring_was" >"$uring_switch"
	[[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	for m in "${mounts[@]}"; do
		mountpoint -q "$m" || continue
		"$lazyfs" umount "$m" 2>/dev/null || fusermount3 -u "$m" 2>/dev/null || umount -l "$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work"

# Microseconds, without forking: bash's EPOCHREALTIME.
usec() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p99() { sort -g | awk '{a[NR]=$1} END {i=int(NR*0.99+0.999); if (i<1) i=1; print a[i]}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# Runs "$@" quietly and prints its wall time in µs.
timed() {
	local t0 t1
	t0=$(usec)
	"$@" >/dev/null 2>&1
	t1=$(usec)
	echo $((t1 - t0))
}
walk() { (cd "$1" && find . -type f | wc -l); }
readall() { tar -C "$1" -cf - . | cat >/dev/null; }
numpy() { PYTHONDONTWRITEBYTECODE=1 chroot "$1" /usr/bin/python3 -c "import numpy"; }
torch() { PYTHONDONTWRITEBYTECODE=1 chroot "$1" /usr/bin/python3 -c "import torch"; }
cold() { # cold OP TREE: median over cold_runs, page cache dropped before each
	local out=()
	for _ in $(seq "$cold_runs"); do
		drop
		out+=("$(timed "$1" "$2")")
	done
	printf '%s\n' "${out[@]}" | median
}
# side_by_side MODE OP TREE…: the median of each tree, in order, with the trees' runs interleaved (one run
# of each in turn, the order reversed every other round), so that the machine's drift falls on all alike.
# hot: one warm-up each, then hot_runs rounds; cold: cold_runs rounds, the page cache dropped before each run.
side_by_side() {
	local mode=$1 op=$2 rounds
	shift 2
	local trees=("$@") i t
	declare -A out=()
	if [[ $mode == hot ]]; then
		for t in "${trees[@]}"; do "$op" "$t" >/dev/null 2>&1 || true; done
		rounds=$hot_runs
	else
		rounds=$cold_runs
	fi
	for i in $(seq "$rounds"); do
		local order=("${trees[@]}")
		if ((i % 2 == 0)); then mapfile -t order < <(printf '%s\n' "${trees[@]}" | tac); fi
		for t in "${order[@]}"; do
			if [[ $mode == cold ]]; then drop; fi
			out[$t]+="$(timed "$op" "$t") "
		done
	done
	for t in "${trees[@]}"; do printf '%s\n' ${out[$t]} | median; done
}
start_nginx() { # start_nginx ROOT PORT
	mkdir -p "$work/nginx"
	cat >"$work/nginx/nginx.conf" <<-EOF
		user root; worker_processes 2; daemon off; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;
		events { worker_connections 256; }
		http { access_log off; client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
		  fastcgi_temp_path $work/nginx/fcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
		  server { listen 127.0.0.1:$2; root $1; } }
	EOF
	/usr/sbin/nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
	nginx_pid=$!
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
		sleep 0.01
	done
	echo "lazyfs.sh: nginx did not start" >&2
	return 1
}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))' "$1"; }

# --- python: one tree, three ways -------------------------------------------------------------------
store=$work/store
digest=$("$lazyfs" import --store "$store" "$fx/python/rootfs.tar" | tail -1)
"$lazyfs" export --store "$store" "$digest" "$work/native"
mksquashfs "$work/native" "$work/python.sqfs" -comp zstd -quiet -no-progress >/dev/null
mkdir -p "$work/lazyfs" "$work/squashfs" "$work/lazyfs-uring"
mounts+=("$work/lazyfs" "$work/squashfs" "$work/lazyfs-uring")
uring=$([[ -n $uring_was ]] && echo yes || echo no)

# Mount time: the command returns once the mount answers (squashfuse_ll likewise daemonizes after mounting).
lt=() st=() ut=()
for _ in $(seq 20); do
	t0=$(usec); "$lazyfs" mount --store "$store" "$digest" "$work/lazyfs"; t1=$(usec)
	stat "$work/lazyfs/etc" >/dev/null
	lt+=($((t1 - t0)))
	"$lazyfs" umount "$work/lazyfs"
	if [[ $uring == yes ]]; then
		echo Y >"$uring_switch"
		t0=$(usec); "$lazyfs" mount --store "$store" "$digest" "$work/lazyfs-uring"; t1=$(usec)
		echo "$uring_was" >"$uring_switch"
		stat "$work/lazyfs-uring/etc" >/dev/null
		ut+=($((t1 - t0)))
		"$lazyfs" umount "$work/lazyfs-uring"
	fi
	t0=$(usec); squashfuse_ll "$work/python.sqfs" "$work/squashfs"; t1=$(usec)
	stat "$work/squashfs/etc" >/dev/null
	st+=($((t1 - t0)))
	fusermount3 -u "$work/squashfs"
done
mount_l=$(printf '%s\n' "${lt[@]}" | median) mount_s=$(printf '%s\n' "${st[@]}" | median)
mount_l99=$(printf '%s\n' "${lt[@]}" | p99)

"$lazyfs" mount --store "$store" "$digest" "$work/lazyfs"
squashfuse_ll "$work/python.sqfs" "$work/squashfs"
trees=("$work/native" "$work/squashfs" "$work/lazyfs")
if [[ $uring == yes ]]; then
	uring_mount --store "$store" "$digest" "$work/lazyfs-uring"
	[[ $("$lazyfs" stats --json "$work/lazyfs-uring" | json transport) == io_uring ]] ||
		{ echo "lazyfs.sh: the io_uring mount is not served over io_uring" >&2; exit 1; }
	trees+=("$work/lazyfs-uring")
fi

echo "## python fixture: lazyfs against native ext4 and squashfuse_ll"
echo
echo "Mount until answering (median of 20): lazyfs $(ms "$mount_l") ms (p99 $(ms "$mount_l99") ms),"
if [[ $uring == yes ]]; then
	echo "lazyfs over io_uring $(ms "$(printf '%s\n' "${ut[@]}" | median)") ms (p99 $(ms "$(printf '%s\n' "${ut[@]}" | p99)") ms),"
fi
echo "squashfuse_ll $(ms "$mount_s") ms."
echo
if [[ $uring == yes ]]; then
	echo "| operation | native (ms) | squashfuse_ll (ms) | lazyfs /dev/fuse (ms) | lazyfs io_uring (ms) | squashfuse_ll / native | lazyfs /dev/fuse / native | lazyfs io_uring / native |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
else
	echo "| operation | native (ms) | squashfuse_ll (ms) | lazyfs (ms) | squashfuse_ll / native | lazyfs / native |"
	echo "|---|---:|---:|---:|---:|---:|"
fi
for op in walk readall numpy; do
	for mode in hot cold; do
		{ read -r n; read -r s; read -r l; read -r u || true; } < <(side_by_side $mode $op "${trees[@]}") ||
			{ echo "lazyfs.sh: measuring $op ($mode) failed" >&2; exit 1; }
		if [[ $uring == yes ]]; then
			printf '| %s, %s | %s | %s | %s | %s | %s | %s | %s |\n' "$op" "$mode" "$(ms "$n")" "$(ms "$s")" "$(ms "$l")" \
				"$(ms "$u")" "$(ratio "$s" "$n")" "$(ratio "$l" "$n")" "$(ratio "$u" "$n")"
		else
			printf '| %s, %s | %s | %s | %s | %s | %s |\n' "$op" "$mode" "$(ms "$n")" "$(ms "$s")" "$(ms "$l")" \
				"$(ratio "$s" "$n")" "$(ratio "$l" "$n")"
		fi
	done
done
echo
echo "walk: \`find -type f | wc -l\`; readall: \`tar -cf - . | cat >/dev/null\`; numpy: \`chroot T python3 -c"
echo "\"import numpy\"\`. cold: \`echo 3 > /proc/sys/vm/drop_caches\` first (lazyfs then reads its packs from disk),"
echo "median of $cold_runs; hot: after one warm-up, median of $hot_runs. The three trees' runs are interleaved (one of"
echo "each in turn, the order reversed every other round). io_uring: the same lazyfs, served over FUSE-over-io_uring"
echo "(one ring and one thread per CPU; \`fuse.enable_uring\` switched on for that mount only)."
if [[ $uring == yes ]]; then
	cc -O2 -o "$work/ioctlbench" "$here/Benchmarks/ioctlbench.c"
	dt=() ut=()
	for _ in $(seq 5); do
		dt+=("$("$work/ioctlbench" "$work/lazyfs/etc/passwd" 20000)")
		ut+=("$("$work/ioctlbench" "$work/lazyfs-uring/etc/passwd" 20000)")
	done
	echo
	echo "One FUSE request and its reply (\`Benchmarks/ioctlbench.c\`: ioctl(TCGETS) on a mounted file, 20,000 times;"
	echo "median of 5): /dev/fuse $(printf '%s\n' "${dt[@]}" | median) µs, io_uring $(printf '%s\n' "${ut[@]}" | median) µs."
fi
"$lazyfs" umount "$work/lazyfs"
[[ $uring == yes ]] && "$lazyfs" umount "$work/lazyfs-uring"
fusermount3 -u "$work/squashfs"

# --- remote: numpy from an empty cache ---------------------------------------------------------------
"$lazyfs" publish --store "$store" "$digest" "$work/published" >/dev/null
published=$(du -sb "$work/published/packs" | cut -f1)
port=$((20000 + RANDOM % 20000))
start_nginx "$work/published" "$port"
remote_numpy() { # remote_numpy CACHE: mounts with an empty store, imports numpy, prints stats JSON
	"$lazyfs" mount --store "$work/no-store" --remote "http://127.0.0.1:$port" --cache "$1" "$digest" "$work/lazyfs"
	local t
	t=$(timed numpy "$work/lazyfs")
	"$lazyfs" stats --json "$work/lazyfs" >"$work/stats.json"
	"$lazyfs" umount "$work/lazyfs"
	echo "$t"
}
drop
native_cold=$(cold numpy "$work/native")
rm -rf "$work/cache"
drop
remote_t=$(remote_numpy "$work/cache")
fetched=$(json 'remote["bytesFetched"]' <"$work/stats.json")
requests=$(json 'remote["requests"]' <"$work/stats.json")
share=$(json 'round(100 * shareFetched, 1)' <"$work/stats.json")
total=$(json 'bytesTotal' <"$work/stats.json")
drop
warm_t=$(remote_numpy "$work/cache")
echo
echo "## python over --remote (nginx on loopback), empty local store"
echo
echo "| | value |"
echo "|---|---:|"
echo "| numpy import, empty cache (ms) | $(ms "$remote_t") |"
echo "| numpy import, native, page cache dropped (ms) | $(ms "$native_cold") |"
echo "| numpy import, disk cache filled, page cache dropped (ms) | $(ms "$warm_t") |"
echo "| fetched (compressed bytes, requests) | $fetched in $requests |"
echo "| fetched / published packs | $(ratio "$((fetched * 100))" "$published") % |"
echo "| chunk bytes loaded / image chunk bytes (uncompressed) | $share % of $total |"
kill "$nginx_pid" && wait "$nginx_pid" 2>/dev/null || true
nginx_pid=

# --- ml: import torch from an empty cache ------------------------------------------------------------
if [[ -z ${BENCH_SKIP_ML:-} && -f $fx/ml/rootfs.tar && -d $fx/ml/rootfs ]]; then
	rm -rf "$store" "$work/published" "$work/cache" "$work/native" "$work/python.sqfs"
	digest=$("$lazyfs" import --store "$store" "$fx/ml/rootfs.tar" | tail -1)
	"$lazyfs" publish --store "$store" "$digest" "$work/published" >/dev/null
	published=$(du -sb "$work/published/packs" | cut -f1)
	start_nginx "$work/published" "$port"
	native_t=$(cold torch "$fx/ml/rootfs")
	drop
	"$lazyfs" mount --store "$work/no-store" --remote "http://127.0.0.1:$port" --cache "$work/cache" "$digest" \
		"$work/lazyfs"
	t=$(timed torch "$work/lazyfs")
	"$lazyfs" stats --json "$work/lazyfs" >"$work/stats.json"
	"$lazyfs" umount "$work/lazyfs"
	fetched=$(json 'remote["bytesFetched"]' <"$work/stats.json")
	echo
	echo "## ml over --remote: \`import torch\`, empty cache"
	echo
	echo "| | value |"
	echo "|---|---:|"
	echo "| import torch, lazyfs --remote, empty cache (ms) | $(ms "$t") |"
	echo "| import torch, native, page cache dropped (ms) | $(ms "$native_t") |"
	echo "| ratio | $(ratio "$t" "$native_t") |"
	echo "| fetched / published packs | $(ratio "$((fetched * 100))" "$published") % ($fetched bytes) |"
	echo "| chunk bytes loaded / image chunk bytes | $(json 'round(100 * shareFetched, 1)' <"$work/stats.json") % |"
fi
