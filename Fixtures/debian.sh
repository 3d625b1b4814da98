#!/usr/bin/env bash
# debian OUTDIR — a minimal Debian 12 root file system (debootstrap --variant=minbase bookworm),
# the base of the python and ml fixtures: a realistic image of ~130 MB in ~6,700 entries.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

out=$1
# The mirror the host's apt uses (/etc/apt/sources.list.d); the only network these builds may reach.
mirror=http://deb.debian.org/debian

# debootstrap mounts /proc and /sys in the target itself and unmounts them when it finishes.
debootstrap --variant=minbase bookworm "$out/rootfs" "$mirror"
# Same hygiene as chroot_install: no downloaded .debs or package lists in the image.
rm -rf "$out"/rootfs/var/cache/apt/archives/*.deb "$out"/rootfs/var/lib/apt/lists/*
# debootstrap copies the build host's resolv.conf and hostname into the target. An image must not
# carry them (the runtime bind-mounts its own), but keeps empty files as the mount points.
for f in resolv.conf hostname; do
	rm -f "$out/rootfs/etc/$f"
	install -m 0644 /dev/null "$out/rootfs/etc/$f"
done
[[ -x $out/rootfs/usr/bin/apt-get && -e $out/rootfs/etc/debian_version ]] || die "debootstrap produced no Debian tree"
gnutar "$out/rootfs.tar" "$out/rootfs" .
