#!/usr/bin/python3
"""hostile OUTDIR — archives an importer must refuse, or neutralise, and the verdict for each.

Every case is a small file (or OCI layout directory) in OUTDIR, listed in OUTDIR/cases.tsv as
    file <TAB> expect <TAB> note
where expect is `error:SUBSTRING` (the importer exits non-zero and its one-line error contains
SUBSTRING, case-insensitively) or `ok` (the importer neutralises the problem and succeeds; the note
says what the result must look like). The first line of cases.tsv is that header.

Well-formed-but-malicious archives are written with tarfile, which writes names and link names
verbatim. Malformed ones (bad checksums, lying sizes, broken PAX records) are byte surgery on
tarfile's output or on hand-built headers, since tarfile refuses to write them.
Everything is deterministic: fixed mtimes, seeded randomness, gzip without a timestamp.
"""

import gzip
import io
import os
import random
import shutil
import subprocess
import sys
import tarfile

BLOCK = 512
MTIME = 1577934245  # 2020-01-02 03:04:05 UTC
rng = random.Random(0x1A2F5)  # fixed seed: same bytes every build


def entry(name, data=b"", kind=tarfile.REGTYPE, linkname="", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = kind, linkname, mode, MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, data


def tar_bytes(*entries):
    """A complete, well-formed tar (PAX format, as image layers are) of the given entries."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
    return buf.getvalue()


def checksum(hdr):
    """The ustar header checksum: byte sum with the checksum field itself read as spaces."""
    return sum(hdr[:148]) + 8 * 32 + sum(hdr[156:BLOCK])


def raw_header(name, typeflag, size_field):
    """A hand-built ustar header whose size field is given verbatim (12 bytes)."""
    assert len(size_field) == 12
    h = bytearray(BLOCK)
    h[0:100] = name.encode().ljust(100, b"\0")
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field
    h[136:148] = b"%011o\0" % MTIME
    h[156:157] = typeflag
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"%06o\0 " % checksum(h)
    return bytes(h)


def pad(data):
    return data + b"\0" * (-len(data) % BLOCK)


def noise(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def header_offsets(tar):
    """Offsets of every header block in a well-formed tar produced by tar_bytes."""
    offsets, buf = [], io.BytesIO(tar)
    with tarfile.open(fileobj=buf, mode="r:") as t:
        for ti in t:
            offsets.append(ti.offset)
    return offsets


def umoci(*args):
    subprocess.run(["umoci", *args], check=True)


def main():
    out = sys.argv[1]
    work = os.path.join(out, ".work")
    os.makedirs(work)
    cases = []

    def case(name, expect, note, data=None):
        if data is not None:
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        assert "\t" not in note and "\n" not in note
        cases.append((name, expect, note))

    benign = entry("ok.txt", b"a harmless file before the bad one\n")
    escape = "error:escapes the image root"

    # --- path traversal
    case("dotdot.tar", escape, "member ../../escape.txt climbs out of the root",
         tar_bytes(benign, entry("../../escape.txt", b"escaped\n")))
    case("dotdot-middle.tar", escape, "member a/../../escape.txt: .. in the middle still climbs out",
         tar_bytes(benign, entry("a/../../escape.txt", b"escaped\n")))
    case("absolute.tar", "ok",
         "member /etc/absolute-file: neutralised by stripping the leading /; "
         "result has etc/absolute-file containing 'absolute\\n'",
         tar_bytes(entry("/etc/absolute-file", b"absolute\n")))

    # --- writing through symlinks planted earlier in the same archive
    case("symlink-then-write.tar", "error:through symlink",
         "symlink evil -> /tmp, then regular file evil/pwned would land in the host's /tmp",
         tar_bytes(entry("evil", kind=tarfile.SYMTYPE, linkname="/tmp", mode=0o777),
                   entry("evil/pwned", b"pwned\n")))
    case("symlink-dir-escape.tar", "error:through symlink",
         "symlink up -> ../../.., then up/etc/pwned (the symlink alone is fine; writing through it is not)",
         tar_bytes(entry("up", kind=tarfile.SYMTYPE, linkname="../../..", mode=0o777),
                   entry("up/etc/pwned", b"pwned\n")))

    # --- hardlinks
    case("hardlink-outside.tar", escape, "hardlink link -> ../../etc/passwd would alias a host file",
         tar_bytes(benign, entry("link", kind=tarfile.LNKTYPE, linkname="../../etc/passwd")))
    case("hardlink-missing.tar", "error:hardlink target",
         "hardlink link -> not/in/image, a path no earlier member defined",
         tar_bytes(benign, entry("link", kind=tarfile.LNKTYPE, linkname="not/in/image")))

    # --- truncation
    two = tar_bytes(entry("small.txt", b"small\n"), entry("big.bin", noise(64 << 10)))
    big_hdr = header_offsets(two)[1]
    case("truncated.tar", "error:truncated",
         "valid tar cut 20000 bytes into big.bin's 65536 bytes of data, no end-of-archive blocks",
         two[: big_hdr + BLOCK + 20000])
    case("truncated-header.tar", "error:truncated",
         "valid tar cut 200 bytes into the second member's 512-byte header",
         two[: big_hdr + 200])

    # --- gzip framing
    good = tar_bytes(entry("hello.txt", b"hello\n"))
    garbage = b"GARBAGE!" + noise(92)  # not a gzip member: does not start with 1f 8b
    case("gzip-trailing-garbage.tar.gz", "error:trailing garbage",
         "a complete .tar.gz followed by 100 bytes that are not another gzip member",
         gzip.compress(good, mtime=0) + garbage)
    gz = gzip.compress(two, mtime=0)  # mostly random data, so the cut lands inside deflate data
    case("gzip-truncated.tar.gz", "error:truncated",
         f"a .tar.gz cut to {len(gz) // 2} of its {len(gz)} bytes (no gzip trailer)",
         gz[: len(gz) // 2])

    # --- lying or corrupt headers
    lie = raw_header("big.bin", b"0", b"%011o\0" % (1 << 20))
    case("size-lies.tar", "error:truncated",
         "header says big.bin is 1 MiB but the file ends after 10 KiB (header plus 9728 bytes of data)",
         lie + noise(10240 - BLOCK))
    bad = bytearray(two)
    h = bad[big_hdr: big_hdr + BLOCK]
    bad[big_hdr + 148: big_hdr + 156] = b"%06o\0 " % (checksum(h) + 1)
    case("bad-checksum.tar", "error:checksum",
         "second header (big.bin) has checksum field off by one; the first member and the ustar magic are intact",
         bytes(bad))

    # --- duplicates
    case("duplicate.tar", "ok",
         "etc/dup appears twice; as with tar, the last one wins: result has etc/dup containing 'second\\n'",
         tar_bytes(entry("etc", kind=tarfile.DIRTYPE, mode=0o755),
                   entry("etc/dup", b"first\n"), entry("etc/dup", b"second\n")))

    # --- PAX extended headers
    records = b"30 path=this-is-never-reached\n"
    case("pax-huge.tar", "error:pax header",
         "'x' header whose size field claims 8 GiB (12 octal digits 100000000000, no NUL); only 512 bytes follow",
         raw_header("PaxHeaders/huge", b"x", b"%012o" % (8 << 30)) + pad(records))
    bad_record = b"99999 path=x\n"
    case("pax-bad-record.tar", "error:pax header",
         "'x' header holding the 13-byte record '99999 path=x\\n' whose length field is wrong; a file follows",
         raw_header("PaxHeaders/file.txt", b"x", b"%011o\0" % len(bad_record)) + pad(bad_record)
         + tar_bytes(entry("file.txt", b"file\n")))

    # --- broken OCI layouts, both copies of one real 1-layer layout made by umoci
    layer = os.path.join(work, "layer.tar")
    with open(layer, "wb") as f:
        f.write(good)
    base = os.path.join(work, "oci")
    umoci("init", "--layout", base)
    umoci("new", "--image", base + ":latest")
    umoci("raw", "add-layer", "--image", base + ":latest", layer)
    umoci("gc", "--layout", base)
    blobs = os.path.join(base, "blobs", "sha256")

    def is_gzip(blob):
        with open(os.path.join(blobs, blob), "rb") as f:
            return f.read(2) == b"\x1f\x8b"

    [layer_blob] = [b for b in os.listdir(blobs) if is_gzip(b)]  # the rest are JSON

    bad_oci = os.path.join(out, "oci-digest-mismatch")
    shutil.copytree(base, bad_oci)
    path = os.path.join(bad_oci, "blobs", "sha256", layer_blob)
    with open(path, "r+b") as f:
        f.seek(9)  # gzip header's OS byte: the blob still decompresses, only its digest is wrong
        os_byte = f.read(1)[0]
        f.seek(9)
        f.write(bytes([os_byte ^ 0xFF]))
    case("oci-digest-mismatch", "error:digest mismatch",
         f"OCI layout (tag latest); byte 9 (gzip OS field) of layer blob sha256:{layer_blob[:12]}... flipped, "
         "so it still decompresses but no longer matches its name")

    missing = os.path.join(out, "oci-missing-blob")
    shutil.copytree(base, missing)
    os.remove(os.path.join(missing, "blobs", "sha256", layer_blob))
    case("oci-missing-blob", "error:missing blob",
         f"OCI layout (tag latest) whose manifest names layer blob sha256:{layer_blob[:12]}..., which is absent")

    # --- not an archive at all
    junk = bytearray(noise(4096))
    junk[0:4] = b"JUNK"  # rules out gzip/zstd/xz/bzip2 magic by construction
    case("not-an-archive.bin", "error:not a tar archive", "4 KiB of random bytes", bytes(junk))

    # Sanity: the hand-made headers are what we think, the well-formed ones still read back.
    assert checksum(bytearray(lie)) == int(lie[148:154], 8)
    with tarfile.open(os.path.join(out, "duplicate.tar")) as t:
        assert [m.name for m in t] == ["etc", "etc/dup", "etc/dup"]
    with tarfile.open(os.path.join(out, "dotdot-middle.tar")) as t:
        assert [m.name for m in t] == ["ok.txt", "a/../../escape.txt"]
    with tarfile.open(os.path.join(out, "absolute.tar")) as t:
        assert [m.name for m in t] == ["/etc/absolute-file"]
    assert os.path.getsize(os.path.join(out, "size-lies.tar")) == 10240

    with open(os.path.join(out, "cases.tsv"), "w", encoding="utf-8") as f:
        f.write("file\texpect\tnote\n")
        for row in cases:
            f.write("\t".join(row) + "\n")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
