# Shared helpers for the fixture recipes. Sourced, not run; part of every fixture's recipe hash.
# shellcheck shell=bash

warn() { echo "WARNING: $*" >&2; } # Fixtures/build repeats these lines even when the build succeeds.
die() {
	echo "ERROR: $*" >&2
	exit 1
}

# gnutar OUT.tar DIR MEMBER... — the one tar invocation every fixture uses.
#   --format=pax --numeric-owner --xattrs --xattrs-include='*'  : what real image layers carry
#       (PAX records for long names, fractional mtimes, big uids and xattrs; '*' also keeps
#       trusted.* and security.*, not just user.*).
#   --sort=name, no atime/ctime records, PaxHeaders name without the pid : same tree, same bytes.
#   no --sparse : holes are stored as zeros, as image layers store them.
gnutar() {
	local out=$1 dir=$2
	shift 2
	tar --create --file="$out" --directory="$dir" \
		--format=pax --numeric-owner --xattrs --xattrs-include='*' \
		--sort=name --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
		"$@"
}

# chroot_install ROOT PACKAGE... — apt-get install into a Debian tree, then strip apt's caches.
# Runs in a subshell so its trap is its own: /proc is unmounted and the host's resolv.conf and the
# policy-rc.d guard are taken out again even when apt fails or the build is interrupted.
chroot_install() (
	root=$1 # no `local`: this body is a subshell, and the EXIT trap below must still see it
	shift
	[[ -x $root/usr/bin/apt-get ]] || die "chroot_install: $root is not a Debian tree"
	# shellcheck disable=SC2329 # invoked by the EXIT trap
	cleanup() {
		if mountpoint -q "$root/proc"; then umount "$root/proc" || umount -l "$root/proc"; fi
		rm -f "$root/usr/sbin/policy-rc.d"
		[[ -n ${resolv_swapped:-} ]] || return 0
		rm -f "$root/etc/resolv.conf"
		if [[ -e $root/etc/resolv.conf.lazyfs-orig || -L $root/etc/resolv.conf.lazyfs-orig ]]; then
			mv -f "$root/etc/resolv.conf.lazyfs-orig" "$root/etc/resolv.conf"
		fi
	}
	trap cleanup EXIT
	mount -t proc proc "$root/proc"
	# apt inside the chroot needs the host's DNS; the image gets back whatever resolv.conf it had.
	if [[ -e $root/etc/resolv.conf || -L $root/etc/resolv.conf ]]; then
		mv "$root/etc/resolv.conf" "$root/etc/resolv.conf.lazyfs-orig"
	fi
	resolv_swapped=1
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# Maintainer scripts must not start daemons inside a build chroot.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"

	chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 apt-get update -q
	chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		apt-get install -y -q --no-install-recommends "$@"
	# Downloaded .debs and package lists are not part of the image people would ship.
	chroot "$root" apt-get clean
	rm -rf "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/archives/*.deb
)

# chroot_run ROOT CMD... — run CMD inside ROOT with /proc mounted (many programs need it), and
# unmount it afterwards even when CMD fails. A subshell, for the same reason as chroot_install.
chroot_run() (
	root=$1
	shift
	trap 'if mountpoint -q "$root/proc"; then umount "$root/proc" || umount -l "$root/proc"; fi' EXIT
	mount -t proc proc "$root/proc"
	chroot "$root" "$@"
)
