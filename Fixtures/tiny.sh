#!/usr/bin/env bash
# tiny OUTDIR — a busybox root file system as a 3-layer OCI image, made with the real tools (GNU tar
# for the layers, umoci to assemble them, skopeo for the docker-archive), plus umoci's own
# flattening of it: the independent reference our importer is compared against.
# Layer 1 carries every kind of file metadata we must keep; layers 2 and 3 exercise whiteouts.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

out=$1
work=$out/.work # scratch, inside the build's temp dir so it shares its fate
mkdir -p "$work"
cd "$work"
export LC_ALL=C.UTF-8 TZ=UTC

# Distinct, fractional mtimes, so an importer that drops nanoseconds or mixes files up is caught.
T_DEFAULT='2020-01-02 03:04:05.000000000 UTC'
T_BUSYBOX='2001-02-03 04:05:06.123456789 UTC'
T_SYMLINK='2002-03-04 05:06:07.5 UTC'
T_EMPTY='1999-12-31 23:59:59.999999999 UTC'
T_NOTES='2010-10-10 10:10:10.010101010 UTC'
T_SETGID='2015-05-05 05:05:05.25 UTC'
epoch() { date -u -d "$1" +%s.%N; }

# ---------------------------------------------------------------- layer 1: the base file system
L=$work/layer1
mkdir -p "$L"/{bin,etc,usr/bin,dev,srv/links/a,srv/links/b,home/lazy,somedir/sub}

install -m 0755 /bin/busybox "$L/bin/busybox"
for applet in sh ls cat true; do ln -s busybox "$L/bin/$applet"; done # relative, as busybox installs them

printf 'root:x:0:0:root:/root:/bin/sh\nlazy:x:1000:1000:lazy:/home/lazy:/bin/sh\n' >"$L/etc/passwd"
printf 'root:x:0:\nlazy:x:1000:\n' >"$L/etc/group"
printf 'layer 1 put me here; layer 2 whites me out\n' >"$L/etc/delete-me"
printf 'original, from layer 1\n' >"$L/etc/modify-me"

# Symlinks: absolute (must not be resolved against the host), and dangling ones (must be kept as is).
ln -s /bin/busybox "$L/usr/bin/abs"
ln -s ../lib/no-such-file "$L/usr/bin/dangling"
ln -s /no/such/target "$L/usr/bin/dangling-abs"

# One file, three names, across two directories: tar stores the 2nd and 3rd as hardlink entries.
printf 'one inode, three names\n' >"$L/srv/links/a/hl-one"
ln "$L/srv/links/a/hl-one" "$L/srv/links/a/hl-two"
ln "$L/srv/links/a/hl-one" "$L/srv/links/b/hl-three"

mknod -m 0666 "$L/dev/null-like" c 1 3
mkfifo -m 0600 "$L/srv/fifo"

printf '#!/bin/sh\necho I am setuid\n' >"$L/usr/bin/setuid-prog"
chmod 4755 "$L/usr/bin/setuid-prog"
mkdir "$L/srv/setgid-dir"
chown 0:1000 "$L/srv/setgid-dir"
chmod 2775 "$L/srv/setgid-dir"
mkdir "$L/tmp"
chmod 1777 "$L/tmp"

printf 'I carry an xattr\n' >"$L/srv/xattr-file"
setfattr -n user.lazyfs.test -v hello "$L/srv/xattr-file"

# A file with a hole: sparse on disk here, but plain zeros in the tar (no --sparse), as in real layers.
truncate -s 8M "$L/srv/holey"
printf 'data in the middle of a hole\n' | dd of="$L/srv/holey" bs=1M seek=4 conv=notrunc status=none

: >"$L/srv/empty"

# 50 MiB of deterministic noise (AES-CTR keystream, fixed key): incompressible, never all zeros.
head -c 52428800 /dev/zero |
	openssl enc -aes-128-ctr -nosalt -K 6c617a7966732d74696e792d66697874 -iv 00000000000000000000000000000000 \
		>"$L/srv/big-50M"

printf 'a name outside ASCII\n' >"$L/srv/données-ünïcödé-日本.txt"

name255=name-exactly-255-bytes-
printf -v pad '%*s' $((255 - ${#name255})) ''
name255+=${pad// /x}
printf 'my name is 255 bytes, the NAME_MAX limit\n' >"$L/srv/$name255"

# 40 nested directories: needs PAX path records (ustar's name+prefix tops out at 255 bytes).
deep=deep
for i in $(seq -w 1 40); do deep+=/level-$i; done
deep+=/bottom.txt
mkdir -p "$L/$(dirname "$deep")"
printf 'at the bottom\n' >"$L/$deep"
((${#deep} > 300)) || die "deep path is only ${#deep} bytes"

# Owners: a real user, one not in /etc/passwd, and one too big for ustar's 7 octal digits.
printf 'owned by lazy\n' >"$L/home/lazy/notes.txt"
chown 1000:1000 "$L/home/lazy" "$L/home/lazy/notes.txt"
chmod 0750 "$L/home/lazy"
chmod 0640 "$L/home/lazy/notes.txt"
printf 'owner not in passwd\n' >"$L/srv/odd-owner"
chown 12345:54321 "$L/srv/odd-owner"
printf 'owner needs a PAX uid record\n' >"$L/srv/big-uid"
chown 3000000:3000001 "$L/srv/big-uid"

# A directory that layer 3 replaces wholesale with an opaque whiteout.
for i in 1 2 3; do printf 'old file %s\n' "$i" >"$L/somedir/old-file-$i"; done
printf 'old nested\n' >"$L/somedir/sub/old-nested"

# mtimes last (creating entries bumps their directory's mtime); -h sets a symlink's own time.
find "$L" -exec touch -h -d "$T_DEFAULT" {} +
touch -d "$T_BUSYBOX" "$L/bin/busybox"
touch -h -d "$T_SYMLINK" "$L/usr/bin/abs"
touch -d "$T_EMPTY" "$L/srv/empty"
touch -d "$T_NOTES" "$L/home/lazy/notes.txt"
touch -d "$T_SETGID" "$L/srv/setgid-dir"

# ---------------------------------------------------------------- layer 2: delete, add, modify
L=$work/layer2
mkdir -p "$L/etc"
: >"$L/etc/.wh.delete-me" # whiteout: etc/delete-me is gone from here on
printf 'new in layer 2\n' >"$L/etc/added-in-layer2"
printf 'modified in layer 2\n' >"$L/etc/modify-me"
find "$L" -exec touch -h -d "$T_DEFAULT" {} +

# ---------------------------------------------------------------- layer 3: opaque directory
L=$work/layer3
mkdir -p "$L/somedir"
: >"$L/somedir/.wh..wh..opq" # opaque whiteout: hide everything lower layers put in somedir/
printf 'new in layer 3\n' >"$L/somedir/new-file"
find "$L" -exec touch -h -d "$T_DEFAULT" {} +

# Layer tars name their members without "./", like docker's (rootfs.tar below uses "./").
for n in 1 2 3; do
	mapfile -t members < <(cd "layer$n" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | sort)
	gnutar "layer$n.tar" "layer$n" "${members[@]}"
done

# Make sure GNU tar really stored what layer 1 is meant to test before blaming anyone downstream.
python3 - "$work/layer1.tar" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = {i.name: i for i in t}
x = m["srv/xattr-file"].pax_headers.get("SCHILY.xattr.user.lazyfs.test")
assert x == "hello", f"layer1.tar: xattr not stored ({x!r})"
h = m["srv/holey"]
assert h.size == 8 << 20 and not h.sparse and "GNU.sparse.name" not in h.pax_headers, "holey stored sparse"
assert "." in m["bin/busybox"].pax_headers.get("mtime", ""), "fractional mtime not stored"
links = [i for i in m.values() if i.islnk()]
assert len(links) == 2, f"expected 2 hardlink entries, got {len(links)}"
EOF

# ---------------------------------------------------------------- assemble with umoci
# umoci raw add-layer takes an uncompressed tar, gzips it into a blob and appends it to the tag.
umoci init --layout oci
umoci new --image oci:latest
for n in 1 2 3; do
	umoci raw add-layer --image oci:latest --history.created_by "Fixtures/tiny.sh layer $n" "layer$n.tar"
done
umoci config --image oci:latest --config.cmd /bin/sh --config.env PATH=/usr/bin:/bin \
	--history.created_by "Fixtures/tiny.sh config"
umoci gc --layout oci # drop the intermediate manifests/configs each step above left behind
mv oci "$out/oci"

# skopeo's default policy file may be absent; a local oci: -> docker-archive: copy needs no trust.
skopeo --insecure-policy copy --quiet "oci:$out/oci:latest" "docker-archive:$out/docker.tar:tiny:latest"

# ---------------------------------------------------------------- umoci's flattening = reference
umoci unpack --image "$out/oci:latest" bundle
mv bundle/rootfs "$out/rootfs"
gnutar "$out/rootfs.tar" "$out/rootfs" .
gzip -n -c "$out/rootfs.tar" >"$out/rootfs.tar.gz"
zstd -q -c "$out/rootfs.tar" >"$out/rootfs.tar.zst"

# ---------------------------------------------------------------- expect.txt
# Facts about the flattened image (grammar in Fixtures/README.md), written from the recipe above,
# not read back from umoci's output, so umoci and our importer are both checked against them.
sha() { sha256sum "$1" | cut -d' ' -f1; }
shastr() { printf '%b' "$1" | sha256sum | cut -d' ' -f1; }
L1=$work/layer1
{
	echo "# tiny: facts about the flattened image; checked by Fixtures/check-expect.py EXPECT ROOT"
	echo "type bin/busybox file"
	echo "mode bin/busybox 0755"
	echo "owner bin/busybox 0:0"
	echo "sha256 bin/busybox $(sha "$L1/bin/busybox")"
	echo "mtime bin/busybox $(epoch "$T_BUSYBOX")"
	for applet in sh ls cat true; do echo "symlink bin/$applet busybox"; done
	echo "sha256 etc/passwd $(sha "$L1/etc/passwd")"
	echo "sha256 etc/group $(sha "$L1/etc/group")"

	echo "# layer 2: whiteout, addition, modification"
	echo "absent etc/delete-me"
	echo "absent etc/.wh.delete-me"
	echo "present etc/added-in-layer2"
	echo "sha256 etc/added-in-layer2 $(shastr 'new in layer 2\n')"
	echo "sha256 etc/modify-me $(shastr 'modified in layer 2\n')"

	echo "# layer 3: opaque whiteout of somedir/"
	echo "type somedir dir"
	echo "present somedir/new-file"
	echo "sha256 somedir/new-file $(shastr 'new in layer 3\n')"
	for i in 1 2 3; do echo "absent somedir/old-file-$i"; done
	echo "absent somedir/sub"
	echo "absent somedir/.wh..wh..opq"

	echo "# symlinks"
	echo "symlink usr/bin/abs /bin/busybox"
	echo "mtime usr/bin/abs $(epoch "$T_SYMLINK")"
	echo "symlink usr/bin/dangling ../lib/no-such-file"
	echo "symlink usr/bin/dangling-abs /no/such/target"

	echo "# hardlinks: one inode, three names, two directories"
	echo "hardlink srv/links/a/hl-two srv/links/a/hl-one"
	echo "hardlink srv/links/b/hl-three srv/links/a/hl-one"
	echo "sha256 srv/links/b/hl-three $(shastr 'one inode, three names\n')"

	echo "# special files and mode bits"
	echo "type dev/null-like char"
	echo "rdev dev/null-like 1:3"
	echo "mode dev/null-like 0666"
	echo "type srv/fifo fifo"
	echo "mode srv/fifo 0600"
	echo "mode usr/bin/setuid-prog 4755"
	echo "type srv/setgid-dir dir"
	echo "mode srv/setgid-dir 2775"
	echo "owner srv/setgid-dir 0:1000"
	echo "mtime srv/setgid-dir $(epoch "$T_SETGID")"
	echo "mode tmp 1777"

	echo "# xattrs, holes, sizes"
	echo "xattr srv/xattr-file user.lazyfs.test hello"
	echo "size srv/holey 8388608"
	echo "sha256 srv/holey $(sha "$L1/srv/holey")"
	echo "size srv/empty 0"
	echo "mtime srv/empty $(epoch "$T_EMPTY")"
	echo "size srv/big-50M 52428800"
	echo "sha256 srv/big-50M $(sha "$L1/srv/big-50M")"

	echo "# names: non-ASCII, exactly 255 bytes, a path over 300 bytes deep"
	echo "sha256 srv/données-ünïcödé-日本.txt $(shastr 'a name outside ASCII\n')"
	echo "sha256 srv/$name255 $(sha "$L1/srv/$name255")"
	echo "sha256 $deep $(shastr 'at the bottom\n')"

	echo "# owners"
	echo "owner home/lazy 1000:1000"
	echo "mode home/lazy 0750"
	echo "owner home/lazy/notes.txt 1000:1000"
	echo "mode home/lazy/notes.txt 0640"
	echo "mtime home/lazy/notes.txt $(epoch "$T_NOTES")"
	echo "owner srv/odd-owner 12345:54321"
	echo "owner srv/big-uid 3000000:3000001"
} >"$out/expect.txt"

# ---------------------------------------------------------------- check umoci's reference
# The recipe's own layer 1 tree must satisfy every fact that layers 2 and 3 do not change...
grep -Ev '^(#|absent|present) |etc/(added-in-layer2|modify-me)|somedir/' "$out/expect.txt" >layer1.expect
python3 "$here/check-expect.py" layer1.expect "$L1" || die "expect.txt disagrees with the recipe's own layer 1"
# ...and umoci's flattening should satisfy all of them. Whiteouts are what the reference is for:
# if umoci ignored one, fail; any other difference (a dropped xattr, an mtime) is a warning.
getfattr --absolute-names --only-values -n user.lazyfs.test "$out/rootfs/srv/xattr-file" >/dev/null ||
	warn "umoci dropped the xattr user.lazyfs.test of srv/xattr-file"
if ! python3 "$here/check-expect.py" "$out/expect.txt" "$out/rootfs" >umoci.diff; then
	if grep -E '^[0-9]+: (absent|present) ' umoci.diff >&2; then
		die "umoci's rootfs does not honour the whiteouts above"
	fi
	sed 's/^/WARNING: umoci rootfs differs from expect.txt: /' umoci.diff >&2
fi

cd "$out"
rm -rf "$work"
