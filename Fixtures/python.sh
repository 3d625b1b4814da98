#!/usr/bin/env bash
# python OUTDIR DEBIAN — the debian fixture plus Python and NumPy: a typical application image with
# many small files (python3 modules) on top of a base image.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

out=$1 base=$2
cp -a "$base/rootfs" "$out/rootfs" # -a keeps owners, modes, hardlinks, xattrs and device nodes
chroot_install "$out/rootfs" python3 python3-numpy
# It really works. -B: the smoke test must not leave .pyc files in the image.
chroot_run "$out/rootfs" python3 -B -c 'import numpy; assert numpy.arange(4).sum() == 6'
gnutar "$out/rootfs.tar" "$out/rootfs" .
