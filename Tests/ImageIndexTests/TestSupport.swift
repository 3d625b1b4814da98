import Codecs
import Glibc
import ImageIndex
import LinuxSystem
import TestSupport
import Testing

/// A made-up chunk digest.
func chunk(_ n: Int) -> Digest { Digest.of(Array("chunk \(n)".utf8)) }

func directory(_ mode: UInt32 = 0o755, mtime: Int64 = 1_700_000_000) -> TreeNode {
  TreeNode(attributes: EntryAttributes(mode: FileType.directory.rawValue | mode, mtimeSeconds: mtime))
}

/// A regular file whose extents are `lengths` long, held by `chunks` (one per extent).
func file(_ lengths: [UInt32] = [], chunks: [Digest] = [], mode: UInt32 = 0o644) -> TreeNode {
  let node = TreeNode(attributes: EntryAttributes(mode: FileType.regular.rawValue | mode, uid: 1000, gid: 1000))
  var offset: Int64 = 0
  for (length, digest) in zip(lengths, chunks) {
    node.extents.append(Extent(offset: offset, chunk: digest, length: length))
    offset += Int64(length)
  }
  node.attributes.size = offset
  return node
}

func symlink(_ target: String) -> TreeNode {
  let node = TreeNode(attributes: EntryAttributes(mode: FileType.symlink.rawValue | 0o777))
  node.symlinkTarget = target
  node.attributes.size = Int64(target.utf8.count)
  return node
}

func special(_ type: FileType, rdev: UInt64 = 0, mode: UInt32 = 0o600) -> TreeNode {
  TreeNode(attributes: EntryAttributes(mode: type.rawValue | mode, rdev: rdev))
}

/// Puts `node` at `path` under `root`, making missing directories on the way. A directory put where one
/// was already made takes over its children.
func insert(_ node: TreeNode, at path: String, in root: TreeNode) {
  var dir = root
  let parts = path.split(separator: "/").map(EntryName.init)
  for part in parts.dropLast() {
    if let next = dir.children[part] {
      dir = next
    } else {
      let made = directory()
      dir.children[part] = made
      dir = made
    }
  }
  if node.isDirectory, let made = dir.children[parts.last!] { node.children.merge(made.children) { old, _ in old } }
  dir.children[parts.last!] = node
}

/// Every node under `root` with its path ("" for the root), depth first.
func walk(_ root: TreeNode, _ prefix: String = "") -> [(path: String, node: TreeNode)] {
  var out = [(prefix, root)]
  for (name, child) in root.children {
    let path = prefix.isEmpty ? name.description : prefix + "/" + name.description
    if child.isDirectory { out += walk(child, path) } else { out.append((path, child)) }
  }
  return out
}

/// A tree with one of everything: nested directories, a 255-byte name, unicode names, a file of several
/// extents, a symlink, devices, a fifo, a socket, a hardlinked pair, xattrs, setuid/setgid/sticky modes,
/// nanosecond and pre-1970 mtimes.
struct SampleTree {
  let root = directory(0o755, mtime: 1_600_000_000)
  /// The file of several extents.
  let big: TreeNode
  /// The hardlinked file, at `bin/ls` and `usr/bin/ls`.
  let linked: TreeNode
  let longName = String(repeating: "n", count: 250) + ".long"
  let config = Array(#"{"architecture":"amd64","config":{"Env":["PATH=/bin"]}}"#.utf8)

  init() {
    big = file([65_536, 100_000, 3, 200_000], chunks: [chunk(1), chunk(2), chunk(1), chunk(3)], mode: 0o755)
    big.xattrs = [("user.note", Array("hi".utf8)), ("security.capability", [1, 0, 0, 2, 0xff, 0, 0x20, 0])]
    big.attributes.mtimeNanoseconds = 999_999_999
    big.attributes.mtimeSeconds = 1_700_000_123
    linked = file([4_000], chunks: [chunk(4)], mode: 0o755)

    insert(big, at: "bin/big", in: root)
    insert(linked, at: "bin/ls", in: root)
    insert(linked, at: "usr/bin/ls", in: root)
    insert(file([10], chunks: [chunk(2)], mode: 0o4755), at: "usr/bin/sudo", in: root)
    insert(file([20], chunks: [chunk(5)], mode: 0o2755), at: "usr/bin/wall", in: root)
    insert(symlink("../bin/big"), at: "usr/bin/big-link", in: root)
    insert(directory(0o1777), at: "tmp", in: root)
    insert(special(.characterDevice, rdev: 0x0000_0001_0000_0103, mode: 0o666), at: "dev/null", in: root)
    insert(special(.blockDevice, rdev: 0xfedc_ba98_7654_3210), at: "dev/sda", in: root)
    insert(special(.fifo), at: "dev/fifo", in: root)
    insert(special(.socket), at: "run/sock", in: root)
    insert(file(), at: "etc/empty", in: root)
    insert(file([5], chunks: [chunk(6)]), at: "etc/\(longName)", in: root)
    for name in ["ünïcødé", "名前", "🙂", "e\u{301}x", "f", "Z", "a", "Ä"] {
      insert(file([1], chunks: [chunk(7)]), at: "etc/names/\(name)", in: root)
    }
    insert(directory(0o700), at: "a/b/c/d/e/f/g", in: root)
    let old = file([2], chunks: [chunk(8)])
    old.attributes.mtimeSeconds = -86_400
    old.attributes.mtimeNanoseconds = 1
    old.attributes.uid = 4_294_967_294
    old.attributes.gid = 65_534
    insert(old, at: "a/b/old", in: root)
    let opaque = directory()
    opaque.xattrs = [("trusted.overlay.opaque", Array("y".utf8)), ("user.empty", [])]
    insert(opaque, at: "opaque", in: root)
  }

  func build() -> [UInt8] { IndexBuilder.build(root: root, config: config) }
}
