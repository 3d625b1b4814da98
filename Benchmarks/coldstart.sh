#!/usr/bin/env bash
# Benchmarks/coldstart.sh [--short] — a container on an image the node has never seen, from nothing on the
# node to the workload finished, through a real shaped link, against the usual way; all in one run.
#
# The link: a network namespace with a veth pair; nginx inside serves the published store and the image's
# tarballs. tbf shapes the rate on both ends; the round-trip time is added in user space (netdelay.c over
# NFQUEUE: this kernel has no sch_netem), all of it on packets entering the namespace, where the sending
# socket no longer owns them (delaying a socket's own packets before they leave the host starves TCP small
# queues). The report shows what the link gives: TCP connect time (one RTT) and a timed download.
#
# Scenarios, each from an empty node (no store, no cache, page cache dropped), median of the runs:
#   usual/runc zst, usual/runc tar  download the image tarball (zstd -3, as registries compress layers; and
#                                   uncompressed) piped into tar -x, then `runc run`
#   usual/crun-fast zst             the same, with `crun-fast run`
#   lazy, no profile                crun-fast on a remote lazyfs root (org.lazyfs.remote), --prefetch off
#   lazy, profile                   the same, replaying the profile published with the image
#   warm                            the same again, chunks in the node's cache, page cache dropped
#   hot                             the same again, nothing dropped
# The profile is recorded beforehand on another "node" (a store of its own) by running the workload once
# in crun-fast with org.lazyfs.record=true, and published with the image. Bytes fetched are the bytes the
# node's end of the link received.
#
# BENCH_LINKS="RATE RTT_MS;…" sets the links (default "1gbit 2;100mbit 20").
# --short: one run, the default link, the numpy workload (CI: proves that it all works; it fails when a
# workload does not print "ok"). Prints markdown to stdout and writes an SVG bar chart (BENCH_SVG, default
# Benchmarks/results/coldstart.svg; --short: none unless BENCH_SVG is set). Needs root, the python fixture
# and the packages `make deps` installs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${LAZYFS_BIN:-$here/.build/release}
fx=${LAZYFS_FIXTURES:-/var/cache/lazyfs-fixtures}
work=${BENCH_DIR:-/var/tmp/lazyfs-coldstart}
short=0
[[ ${1:-} == --short ]] && short=1
runs=${BENCH_COLDSTART_RUNS:-5}
svg=${BENCH_SVG:-}
if ((short)); then runs=1; else svg=${svg:-$here/Benchmarks/results/coldstart.svg}; fi
links=("1gbit 2")
((short)) || links+=("100mbit 20")
# BENCH_LINKS="RATE RTT_MS;…" replaces them (e.g. "100mbit 20" for the slow link alone).
if [[ -n ${BENCH_LINKS:-} ]]; then IFS=';' read -r -a links <<<"$BENCH_LINKS"; fi
ns=lzcs-bench
host_if=lzcs0
ns_if=lzcs1
host_ip=10.79.0.1
ns_ip=10.79.0.2
port=8080
queue=17
url=http://$ns_ip:$port
crunfast=$bin/crun-fast
lazyfs=$bin/lazyfs

delayer_pid=
cleanup() {
	set +e
	[[ -n $delayer_pid ]] && kill "$delayer_pid" 2>/dev/null && wait "$delayer_pid" 2>/dev/null
	if [[ -f $work/nginx/nginx.pid ]]; then kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null; fi
	for c in $("$crunfast" --root "$work/roots/cf" list -q 2>/dev/null); do "$crunfast" --root "$work/roots/cf" delete -f "$c"; done
	for c in $(runc --root "$work/roots/runc" list -q 2>/dev/null); do runc --root "$work/roots/runc" delete -f "$c"; done
	awk -v w="$work" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
	ip netns del "$ns" 2>/dev/null
	ip link del "$host_if" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cleanup
mkdir -p "$work"/{www,roots/cf,roots/runc,nginx,bundles}

usec() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
rx() { cat "/sys/class/net/$host_if/statistics/rx_bytes"; }
fail() { echo "coldstart.sh: $*" >&2; exit 1; }

# --- the image, its tarballs, and its published store with a profile per workload ---------------------
tar_path=$fx/python/rootfs.tar
[[ -e $tar_path ]] || fail "no python fixture at $fx/python (make fixtures)"
workloads=(numpy)
((short)) || workloads+=(heavy)
declare -A script=(
	[numpy]="import numpy; print('ok')"
	[heavy]="import numpy, numpy.linalg, numpy.fft, numpy.random; a = numpy.random.default_rng(1).random((400, 400)); numpy.linalg.svd(a); numpy.fft.fft2(a); print('ok')"
)
cp "$tar_path" "$work/www/image.tar"
zstd -q -3 -T0 "$work/www/image.tar" -o "$work/www/image.tar.zst"
tar_bytes=$(stat -c %s "$work/www/image.tar")
zst_bytes=$(stat -c %s "$work/www/image.tar.zst")
digest=$("$lazyfs" import --store "$work/origin" --name python "$tar_path" | tail -1)
gcc -O2 -o "$work/netdelay" "$here/Benchmarks/netdelay.c" -lnetfilter_queue -lnfnetlink

(cd "$work/bundles" && "$crunfast" spec && mv config.json base.json)
# bundle NAME ROOT|lazy ARGS-AS-JSON [ANNOTATIONS-AS-JSON]
bundle() {
	mkdir -p "$work/bundles/$1"
	python3 - "$work/bundles/base.json" "$work/bundles/$1/config.json" "$2" "$3" "${4:-null}" <<-'PY'
		import json, sys
		spec = json.load(open(sys.argv[1]))
		spec["process"]["args"] = json.loads(sys.argv[4])
		spec["process"]["terminal"] = False
		spec["process"]["env"] = spec["process"].get("env", []) + ["PYTHONDONTWRITEBYTECODE=1"]
		if sys.argv[3] == "lazy":
		    del spec["root"]["path"]
		    spec["annotations"] = json.loads(sys.argv[5])
		else:
		    spec["root"]["path"] = sys.argv[3]
		json.dump(spec, open(sys.argv[2], "w"), indent=2)
	PY
}
argv() { python3 -c 'import json, sys; print(json.dumps(["python3", "-c", sys.argv[1]]))' "$1"; }

# Record each workload's profile on the origin "node" (crun-fast, org.lazyfs.record=true; saved when the
# container is deleted and the image unmounted) and publish the image with it, one directory a workload.
for w in "${workloads[@]}"; do
	bundle "record-$w" lazy "$(argv "${script[$w]}")" \
		"{\"org.lazyfs.image\": \"python\", \"org.lazyfs.store\": \"$work/origin\", \"org.lazyfs.record\": \"true\"}"
	out=$("$crunfast" --root "$work/roots/cf" run --bundle "$work/bundles/record-$w" "record-$w")
	[[ $out == ok ]] || fail "recording $w printed \"$out\""
	"$lazyfs" publish --store "$work/origin" python "$work/www/$w" >/dev/null
	[[ -e $work/www/$w/profiles/${digest#sha256:} ]] || fail "no profile was recorded for $w"
	"$lazyfs" profile rm --store "$work/origin" python >/dev/null
done
# The image's own packs, as imported (the published directories add the working-set pack).
pack_bytes=$(du -cb "$work/origin/packs/"*.pack | tail -1 | cut -f1)

# --- the link ------------------------------------------------------------------------------------------
ip netns add "$ns"
ip link add "$host_if" type veth peer name "$ns_if"
ip link set "$ns_if" netns "$ns"
ip addr add "$host_ip/24" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$ns_ip/24" dev "$ns_if"
ip netns exec "$ns" ip link set "$ns_if" up
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" iptables -t mangle -A PREROUTING -i "$ns_if" -j NFQUEUE --queue-num "$queue" --queue-bypass
cat >"$work/nginx/nginx.conf" <<EOF
user root; worker_processes 2; daemon on; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;
events { worker_connections 512; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy; fastcgi_temp_path $work/nginx/fcgi;
  uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  server { listen $ns_ip:$port; root $work/www; } }
EOF
ip netns exec "$ns" /usr/sbin/nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"

# shape RATE RTT_MS: tbf on both ends, the delayer with the whole RTT on the way in.
shape() {
	local rate=$1 rtt=$2 burst
	# tbf's bucket must hold what one timer tick sends (HZ 250: 4 ms), at least 64 KiB.
	burst=$(python3 -c "r='$rate'; n=float(r[:-4])*{'k':1e3,'m':1e6,'g':1e9}[r[-4]]; print(max(65536, int(n/8*0.004)))")
	tc qdisc replace dev "$host_if" root tbf rate "$rate" burst "$burst" latency 50ms
	ip netns exec "$ns" tc qdisc replace dev "$ns_if" root tbf rate "$rate" burst "$burst" latency 50ms
	[[ -n $delayer_pid ]] && kill "$delayer_pid" && wait "$delayer_pid" 2>/dev/null || true
	ip netns exec "$ns" "$work/netdelay" "$queue" $((rtt * 1000)) 2>/dev/null &
	delayer_pid=$!
	sleep 0.3
}
measure_link() {
	local connects=() i
	for i in 1 2 3 4 5; do connects+=("$(curl -s -o /dev/null -w '%{time_connect}' "$url/numpy/layout")"); done
	rtt_ms=$(printf '%s\n' "${connects[@]}" | median | awk '{printf "%.1f", $1 * 1000}')
	rate_mbit=$(curl -s -o /dev/null -w '%{speed_download}' "$url/image.tar" | awk '{printf "%.0f", $1 * 8 / 1e6}')
}

# --- scenarios -----------------------------------------------------------------------------------------
n=0
next_id() { n=$((n + 1)); echo "c$n"; }
node=$work/node
fresh_node() { rm -rf "$node" && mkdir -p "$node/rootfs"; }
# time_it OUTVAR BYTESVAR CMD…: runs CMD, checks it printed ok, records seconds and bytes received.
time_it() {
	local -n t_out=$1 b_out=$2
	shift 2
	local b0 t0 t1 out
	b0=$(rx)
	t0=$(usec)
	out=$("$@") || fail "$* failed"
	t1=$(usec)
	[[ ${out##*$'\n'} == ok ]] || fail "$* printed \"$out\""
	t_out+=("$(awk -v u=$((t1 - t0)) 'BEGIN {printf "%.3f", u / 1e6}')")
	b_out+=("$(($(rx) - b0))")
}
usual() { # usual RUNTIME zst|tar WORKLOAD
	if [[ $2 == zst ]]; then
		curl -sf "$url/image.tar.zst" | zstd -dc | tar -xf - -C "$node/rootfs"
	else
		curl -sf "$url/image.tar" | tar -xf - -C "$node/rootfs"
	fi
	if [[ $1 == runc ]]; then
		runc --root "$work/roots/runc" run --bundle "$work/bundles/usual-$3" "$(next_id)"
	else
		"$crunfast" --root "$work/roots/cf" run --bundle "$work/bundles/usual-$3" "$(next_id)"
	fi
}
lazy() { # lazy WORKLOAD PREFETCH
	LAZYFS_REMOTE_CACHE=$node/cache "$crunfast" --root "$work/roots/cf" run --bundle "$work/bundles/lazy-$1-$2" "$(next_id)"
}

scenarios=("usual/runc zst" "usual/runc tar" "usual/crun-fast zst" "lazy, no profile" "lazy, profile" "warm" "hot")
declare -A time_med bytes_med
for w in "${workloads[@]}"; do
	bundle "usual-$w" "$node/rootfs" "$(argv "${script[$w]}")"
	for p in off auto; do
		bundle "lazy-$w-$p" lazy "$(argv "${script[$w]}")" \
			"{\"org.lazyfs.image\": \"$digest\", \"org.lazyfs.remote\": \"$url/$w\", \"org.lazyfs.store\": \"$node/store\", \"org.lazyfs.prefetch\": \"$p\"}"
	done
done

declare -A link_rtt link_rate served
for link in "${links[@]}"; do
	read -r rate rtt <<<"$link"
	shape "$rate" "$rtt"
	measure_link
	link_rtt[$link]=$rtt_ms
	link_rate[$link]=$rate_mbit
	for w in "${workloads[@]}"; do
		declare -A T=() B=()
		for s in "${scenarios[@]}"; do T[$s]="" B[$s]=""; done
		for ((r = 0; r < runs; r++)); do
			for s in "${scenarios[@]}"; do
				times=() bytes=()
				case $s in
				"usual/runc zst") fresh_node; drop; time_it times bytes usual runc zst "$w" ;;
				"usual/runc tar") fresh_node; drop; time_it times bytes usual runc tar "$w" ;;
				"usual/crun-fast zst") fresh_node; drop; time_it times bytes usual crun-fast zst "$w" ;;
				"lazy, no profile") fresh_node; drop; time_it times bytes lazy "$w" off ;;
				"lazy, profile") fresh_node; drop; time_it times bytes lazy "$w" auto ;;
				"warm") drop; time_it times bytes lazy "$w" auto ;;
				"hot") time_it times bytes lazy "$w" auto ;;
				esac
				T[$s]+="${times[0]} "
				B[$s]+="${bytes[0]} "
			done
		done
		for s in "${scenarios[@]}"; do
			time_med["$link|$w|$s"]=$(tr ' ' '\n' <<<"${T[$s]}" | grep . | median)
			bytes_med["$link|$w|$s"]=$(tr ' ' '\n' <<<"${B[$s]}" | grep . | median)
		done
	done
	# How the profile's reads fared, from the mount's own statistics: lazyfs mount on an empty node, the
	# numpy workload chrooted into it, then `lazyfs stats`. Every read the recording saw reached its mount,
	# so the profile's bytes stand for the start-up's reads; those that still had to wait are "missing".
	fresh_node
	drop
	mkdir -p "$node/mnt"
	"$lazyfs" mount --store "$node/store" --remote "$url/numpy" --cache "$node/cache" "$digest" "$node/mnt"
	PYTHONDONTWRITEBYTECODE=1 chroot "$node/mnt" /usr/bin/python3 -c "${script[numpy]}" >/dev/null
	served[$link]=$("$lazyfs" stats --json "$node/mnt" | python3 -c '
import json, sys
p = json.load(sys.stdin)["prefetch"]
missing, total, pushed = p["readBytesMissing"], max(p["profileBytes"], 1), p["pageCacheBytes"]
print("%.1f %% (%.1f MiB of %.1f MiB waited; %.1f MiB put in the page cache)"
      % (100 - 100 * missing / total, missing / 1048576, total / 1048576, pushed / 1048576))')
	"$lazyfs" umount "$node/mnt"
done

# A locally stored image, freshly mounted: the first container on it against one on a mount that another
# container has already warmed (the holder, created first, keeps the mount; created, never started).
"$lazyfs" profile merge --store "$work/origin" python "$work/www/numpy/profiles/${digest#sha256:}" >/dev/null
declare -A local_first local_second
for cold in dropped kept; do
	for p in off auto; do
		annotations="\"org.lazyfs.image\": \"python\", \"org.lazyfs.store\": \"$work/origin\", \"org.lazyfs.prefetch\": \"$p\""
		bundle "local-$p" lazy "$(argv "${script[numpy]}")" "{$annotations}"
		F="" S=""
		for ((r = 0; r < runs; r++)); do
			if [[ $cold == dropped ]]; then drop; fi
			"$crunfast" --root "$work/roots/cf" create --bundle "$work/bundles/local-$p" "holder-$r-$p"
			times=() bytes=()
			time_it times bytes "$crunfast" --root "$work/roots/cf" run --bundle "$work/bundles/local-$p" "$(next_id)"
			time_it times bytes "$crunfast" --root "$work/roots/cf" run --bundle "$work/bundles/local-$p" "$(next_id)"
			"$crunfast" --root "$work/roots/cf" delete -f "holder-$r-$p"
			F+="${times[0]} " S+="${times[1]} "
		done
		local_first[$cold $p]=$(tr ' ' '\n' <<<"$F" | grep . | median)
		local_second[$cold $p]=$(tr ' ' '\n' <<<"$S" | grep . | median)
	done
done

# --- report --------------------------------------------------------------------------------------------
echo "Image: the python fixture ($((tar_bytes / 1048576)) MiB as a tar, $((zst_bytes / 1048576)) MiB as tar.zst (zstd -3),"
echo "$((pack_bytes / 1048576)) MiB as lazyfs packs). $runs run(s) a scenario, median; each from an empty node with the"
echo "page cache dropped (but warm and hot). Workloads in a container of the image:"
for w in "${workloads[@]}"; do echo "- $w: \`python3 -c \"${script[$w]}\"\`"; done
echo
echo "| link | asked | measured RTT | measured rate |"
echo "|---|---|---|---|"
for link in "${links[@]}"; do
	read -r rate rtt <<<"$link"
	echo "| $rate, $rtt ms | $rate, RTT $rtt ms | ${link_rtt[$link]} ms (TCP connect) | ${link_rate[$link]} Mbit/s (the tar, one GET) |"
done
echo
for link in "${links[@]}"; do
	for w in "${workloads[@]}"; do
		base=${time_med["$link|$w|usual/runc zst"]}
		warm=${time_med["$link|$w|warm"]}
		echo "**$w, $link** (× = the usual way with zstd / this; lower time is better)"
		echo
		echo "| scenario | time s | × | fetched MiB | of tar | of packs |"
		echo "|---|---|---|---|---|---|"
		for s in "${scenarios[@]}"; do
			t=${time_med["$link|$w|$s"]}
			b=${bytes_med["$link|$w|$s"]}
			awk -v s="$s" -v t="$t" -v base="$base" -v b="$b" -v tb="$tar_bytes" -v pb="$pack_bytes" \
				'BEGIN {printf "| %s | %.2f | %.2f | %.1f | %.1f %% | %.1f %% |\n", s, t, base / t, b / 1048576, 100 * b / tb, 100 * b / pb}'
		done
		awk -v p="${time_med["$link|$w|lazy, profile"]}" -v w="$warm" -v base="$base" \
			-v tar="${time_med["$link|$w|usual/runc tar"]}" \
			'BEGIN {printf "\nWith a profile: %.2f × the usual way (zstd), %.2f × (tar); cold / warm = %.2f.\n\n", base / p, tar / p, p / w}'
	done
done
for link in "${links[@]}"; do
	echo "Start-up reads served from prefetched data (numpy, $link, lazyfs mount and chroot): ${served[$link]}."
done
echo
echo "A locally stored image, freshly mounted, numpy: the first container on the mount against the next one,"
echo "on the mount the first has warmed; with the page cache dropped before the mount (the store's packs"
echo "read from disk too), and kept (only the mount is new):"
echo
echo "| page cache | prefetch | first s | next s | first / next |"
echo "|---|---|---|---|---|"
for cold in dropped kept; do
	for p in off auto; do
		awk -v c="$cold" -v p="$p" -v f="${local_first[$cold $p]}" -v s="${local_second[$cold $p]}" \
			'BEGIN {printf "| %s | %s | %.3f | %.3f | %.2f |\n", c, p == "auto" ? "profile" : "off", f, s, f / s}'
	done
done
echo
echo "Reproduce: \`make bench-coldstart\` (Benchmarks/coldstart.sh; BENCH_COLDSTART_RUNS=N)."

if [[ -n $svg ]]; then
	{
		for link in "${links[@]}"; do
			for w in "${workloads[@]}"; do
				for s in "${scenarios[@]}"; do printf '%s\t%s\t%s\t%s\n' "$link" "$w" "$s" "${time_med["$link|$w|$s"]}"; done
			done
		done
	} | python3 "$here/Benchmarks/barchart.py" "Cold start: image on a remote, nothing on the node, to workload done (s)" >"$svg"
fi
