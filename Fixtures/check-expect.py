#!/usr/bin/python3
"""check-expect.py EXPECT ROOT — check a tree against a fixture's expect.txt.

Prints one line per fact that does not hold ("LINE-NUMBER: FACT: why") and exits 1 if any failed.
tiny.sh runs it on umoci's rootfs; tests may run it on what our importer produced.
The expect.txt grammar is described in Fixtures/README.md: one fact per line, fields separated by
single spaces (no path in these fixtures contains whitespace), '#' starts a comment line.
"""

import hashlib
import os
import stat
import sys

TYPES = {
    "file": stat.S_ISREG,
    "dir": stat.S_ISDIR,
    "symlink": stat.S_ISLNK,
    "char": stat.S_ISCHR,
    "block": stat.S_ISBLK,
    "fifo": stat.S_ISFIFO,
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check(root, kind, rel, args):
    """Return None if the fact holds, else a reason."""
    path = os.path.join(root, rel)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None if kind == "absent" else "missing"
    if kind == "absent":
        return "exists"
    if kind == "present":
        return None
    if kind == "type":
        return None if TYPES[args[0]](st.st_mode) else f"mode is {stat.filemode(st.st_mode)}"
    if kind == "mode":
        got = stat.S_IMODE(st.st_mode)
        return None if got == int(args[0], 8) else f"mode is {got:04o}"
    if kind == "owner":
        got = f"{st.st_uid}:{st.st_gid}"
        return None if got == args[0] else f"owner is {got}"
    if kind == "symlink":
        if not stat.S_ISLNK(st.st_mode):
            return "not a symlink"
        got = os.readlink(path)
        return None if got == args[0] else f"points to {got}"
    if kind == "hardlink":
        other = os.lstat(os.path.join(root, args[0]))
        same = (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)
        return None if same else "not the same inode"
    if kind == "size":
        return None if st.st_size == int(args[0]) else f"size is {st.st_size}"
    if kind == "sha256":
        got = sha256(path)
        return None if got == args[0] else f"sha256 is {got}"
    if kind == "xattr":
        try:
            got = os.getxattr(path, args[0], follow_symlinks=False).decode()
        except OSError as e:
            return f"xattr {args[0]} unreadable: {e.strerror}"
        return None if got == args[1] else f"xattr {args[0]} is {got!r}"
    if kind == "mtime":
        sec, _, frac = args[0].partition(".")
        want = int(sec) * 10**9 + int((frac + "000000000")[:9])
        got = st.st_mtime_ns
        return None if got == want else f"mtime is {got // 10**9}.{got % 10**9:09d}"
    if kind == "rdev":
        got = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        return None if got == args[0] else f"rdev is {got}"
    return f"unknown fact kind {kind!r}"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check-expect.py EXPECT ROOT")
    expect, root = sys.argv[1], sys.argv[2]
    failed = 0
    with open(expect, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            kind, rel, *args = line.split(" ")
            why = check(root, kind, rel, args)
            if why:
                failed += 1
                print(f"{n}: {line}: {why}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
