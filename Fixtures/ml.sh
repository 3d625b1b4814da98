#!/usr/bin/env bash
# ml OUTDIR PYTHON — the python fixture plus the Debian-packaged ML stack: the large image, with
# big shared libraries (libtorch) of which a program touches little, that lazy loading is meant for.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

out=$1 base=$2
cp -a "$base/rootfs" "$out/rootfs" # -a keeps owners, modes, hardlinks, xattrs and device nodes
chroot_install "$out/rootfs" python3-torch python3-scipy python3-pandas python3-sklearn python3-matplotlib
# It really works. -B and a throwaway MPLCONFIGDIR: the smoke test must leave nothing behind.
chroot_run "$out/rootfs" env MPLCONFIGDIR=/tmp/lazyfs-smoke python3 -B -c \
	'import torch, scipy, pandas, sklearn, matplotlib; assert torch.ones(2).sum().item() == 2'
rm -rf "$out/rootfs/tmp/lazyfs-smoke"
gnutar "$out/rootfs.tar" "$out/rootfs" .
