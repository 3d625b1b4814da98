import Codecs
import ImageIndex
import Testing

/// Reading a built index: every entry is found by path and by name, and says what the tree said.
@Suite struct ImageIndexTests {
  let tree = SampleTree()
  let index: ImageIndex

  init() throws { index = try ImageIndex(bytes: tree.build()) }

  func entry(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    try #require(index.lookup(path: path), "\(path) not found", sourceLocation: sourceLocation)
  }

  @Test func everyNodeIsFoundAtItsPathWithItsAttributes() throws {
    let nodes = walk(tree.root)
    #expect(index.count == nodes.count)
    for (path, node) in nodes {
      let i = try entry(path)
      #expect(index.attributes(i) == node.attributes, "\(path)")
      #expect(index.type(i) == node.attributes.type, "\(path)")
      #expect(index.path(of: i) == path)
      #expect(index.lookup(path: "/" + path) == i)
      #expect(index.lookup(path: "./" + path + "/") == i)
    }
  }

  @Test func theRootIsEntryZero() {
    #expect(index.lookup(path: "") == 0)
    #expect(index.lookup(path: "/") == 0)
    #expect(index.path(of: 0) == "")
    #expect(index.name(0) == "")
    #expect(index.parent(0) == 0)
    #expect(index.inode(0) == 0)
    #expect(index.type(0) == .directory)
  }

  @Test func missingNamesAreNotFound() throws {
    for path in [
      "nope", "bin/nope", "bin/big/x", "usr/bin/big-link/x", "bi", "bin/bi", "bin/bigger", "BIN", "e\u{301}",
    ] {
      #expect(index.lookup(path: path) == nil, "\(path)")
    }
    let bin = try entry("bin")
    #expect(index.lookup("", in: bin) == nil)
    #expect(index.lookup("big", in: bin) == (try entry("bin/big")))
    #expect(index.lookup("big", in: try entry("bin/big")) == nil, "a file has no children")
    #expect(index.lookup(tree.longName + "x", in: try entry("etc")) == nil)
  }

  @Test func pathOfRoundTripsForEveryEntry() {
    for i in 0..<index.count {
      let path = index.path(of: i)
      #expect(index.lookup(path: path) == i, "entry \(i) at \(path)")
      if i > 0 { #expect(index.lookup(index.name(i), in: index.parent(i)) == i) }
    }
  }

  @Test func childrenAreContiguousAndSortedByNameBytes() {
    var seen = 1  // the root is nobody's child
    for i in 0..<index.count {
      let children = index.children(i)
      if index.type(i) != .directory {
        #expect(children.isEmpty)
        continue
      }
      seen += children.count
      let names = children.map { Array(index.nameBytes($0)) }
      for (a, b) in zip(names, names.dropFirst()) {
        #expect(a.lexicographicallyPrecedes(b), "\(index.path(of: i)): names out of order")
      }
      for c in children { #expect(index.parent(c) == i) }
    }
    #expect(seen == index.count, "every entry but the root is the child of exactly one directory")
  }

  @Test func unicodeAndLongNamesRoundTrip() throws {
    let names = try entry("etc/names")
    let listed = index.children(names).map { index.name($0) }
    // Bytewise: "Z" < "a" < "e\u{301}x" < "f" < "Ä" < "ü…" < "名前" < "🙂"; String order would put "f" first.
    #expect(
      listed.map { Array($0.utf8) } == ["Z", "a", "e\u{301}x", "f", "Ä", "ünïcødé", "名前", "🙂"].map { Array($0.utf8) })
    for name in listed { #expect(index.lookup(name, in: names) != nil, "\(name)") }
    #expect(index.lookup("\u{E9}x", in: names) == nil, "lookups compare bytes, not canonical equivalence")

    let long = try entry("etc/" + tree.longName)
    #expect(index.nameBytes(long).count == 255)
    #expect(index.name(long) == tree.longName)
  }

  @Test func directoriesCountTheirSubdirectoriesInNlink() throws {
    #expect(index.nlink(0) == 2 + 8)  // a bin dev etc opaque run tmp usr
    for (path, node) in walk(tree.root) where node.isDirectory {
      let subdirectories = node.children.values.filter(\.isDirectory).count
      #expect(index.nlink(try entry(path)) == UInt32(2 + subdirectories), "\(path)")
    }
  }

  @Test func hardlinksShareAnInodeAndCountTheirNames() throws {
    let first = try entry("bin/ls")
    let second = try entry("usr/bin/ls")
    #expect(first != second)
    #expect(index.inode(first) == first, "the first name in entry order is the inode")
    #expect(index.inode(second) == first)
    #expect(index.nlink(first) == 2 && index.nlink(second) == 2)
    #expect(index.attributes(first) == index.attributes(second))
    #expect(index.extents(first).map(index.extent) == index.extents(second).map(index.extent))
    #expect(index.extents(first).count == 1)
    for path in ["bin/big", "usr/bin/sudo", "dev/null", "usr/bin/big-link", "etc/empty"] {
      let i = try entry(path)
      #expect(index.inode(i) == i && index.nlink(i) == 1, "\(path)")
    }
  }

  @Test func specialFilesKeepTheirTypeModeAndDevice() throws {
    let null = try entry("dev/null")
    #expect(index.type(null) == .characterDevice)
    #expect(index.attributes(null).rdev == 0x0000_0001_0000_0103)
    #expect(index.attributes(null).mode == 0o020666)
    #expect(index.attributes(try entry("dev/sda")).rdev == 0xfedc_ba98_7654_3210)
    #expect(index.type(try entry("dev/sda")) == .blockDevice)
    #expect(index.type(try entry("dev/fifo")) == .fifo)
    #expect(index.type(try entry("run/sock")) == .socket)
    #expect(index.attributes(try entry("usr/bin/sudo")).mode == 0o104755)
    #expect(index.attributes(try entry("usr/bin/wall")).mode == 0o102755)
    #expect(index.attributes(try entry("tmp")).mode == 0o041777)
    for path in ["dev/null", "dev/fifo", "tmp", "run/sock"] {
      let i = try entry(path)
      #expect(index.extents(i).isEmpty && index.symlinkTarget(i) == "", "\(path)")
    }
  }

  @Test func timesAndOwnersRoundTrip() throws {
    let big = index.attributes(try entry("bin/big"))
    #expect(big.mtimeSeconds == 1_700_000_123 && big.mtimeNanoseconds == 999_999_999)
    let old = index.attributes(try entry("a/b/old"))
    #expect(old.mtimeSeconds == -86_400 && old.mtimeNanoseconds == 1)
    #expect(old.uid == 4_294_967_294 && old.gid == 65_534)
  }

  @Test func symlinksKeepTheirTarget() throws {
    let link = try entry("usr/bin/big-link")
    #expect(index.type(link) == .symlink)
    #expect(index.symlinkTarget(link) == "../bin/big")
    #expect(index.attributes(link).size == Int64("../bin/big".utf8.count))
    #expect(index.children(link).isEmpty && index.extents(link).isEmpty)
    #expect(index.symlinkTarget(try entry("bin/big")) == "", "only symlinks have a target")
  }

  @Test func xattrsRoundTripSortedByName() throws {
    let big = index.xattrs(try entry("bin/big"))
    #expect(big.map(\.name) == ["security.capability", "user.note"])
    #expect(big.map(\.value) == [[1, 0, 0, 2, 0xff, 0, 0x20, 0], Array("hi".utf8)])
    let opaque = index.xattrs(try entry("opaque"))
    #expect(opaque.map(\.name) == ["trusted.overlay.opaque", "user.empty"])
    #expect(opaque.map(\.value) == [Array("y".utf8), []])
    #expect(index.xattrs(try entry("bin/ls")).isEmpty)
    #expect(index.xattrs(0).isEmpty)
  }

  @Test func theConfigRoundTrips() throws {
    #expect(index.config == tree.config)
    let bare = try ImageIndex(bytes: IndexBuilder.build(root: directory()))
    #expect(bare.config.isEmpty)
    #expect(bare.count == 1 && bare.children(0).isEmpty)
  }
}
