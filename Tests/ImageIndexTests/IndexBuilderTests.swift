import Codecs
import ImageIndex
import TestSupport
import Testing

/// Building: the same tree always gives the same bytes, whatever order it was assembled in, and a large tree
/// comes out whole.
@Suite struct IndexBuilderTests {
  @Test func buildingTwiceGivesTheSameBytes() {
    let tree = SampleTree()
    let first = tree.build()
    #expect(first == tree.build())
    #expect(first == SampleTree().build(), "a separately assembled equal tree")
    #expect(Array(first[0..<8]) == IndexFormat.magic)
  }

  /// The same entries inserted in another order (so each directory's dictionary is built differently), with
  /// xattrs listed in another order.
  @Test(arguments: [1, 2, 3] as [UInt64])
  func insertionOrderDoesNotMatter(_ seed: UInt64) {
    let tree = SampleTree()
    let entries = walk(tree.root).filter { !$0.path.isEmpty }
    var rng = SplitMix64(seed: seed)
    let copies = Dictionary(entries.map { (ObjectIdentifier($0.node), copy($0.node)) }) { first, _ in first }
    let root = copy(tree.root)
    for (path, node) in entries.shuffled(using: &rng) {
      let made = copies[ObjectIdentifier(node)]!
      made.xattrs.shuffle(using: &rng)
      insert(made, at: path, in: root)
    }
    #expect(IndexBuilder.build(root: root, config: tree.config) == tree.build())
  }

  @Test func anyChangeChangesTheBytes() {
    let base = SampleTree().build()
    let changes: [(String, (SampleTree) -> Void)] = [
      ("mtime ns", { $0.big.attributes.mtimeNanoseconds -= 1 }),
      ("xattr value", { $0.big.xattrs[0].value = Array("ho".utf8) }),
      ("extent length", { $0.big.extents[3].length -= 1 }),
      ("hardlink broken", { insert(file([4_000], chunks: [chunk(4)], mode: 0o755), at: "usr/bin/ls", in: $0.root) }),
      ("new empty dir", { insert(directory(), at: "new", in: $0.root) }),
    ]
    for (what, change) in changes {
      let tree = SampleTree()
      change(tree)
      #expect(tree.build() != base, "\(what)")
    }
    #expect(IndexBuilder.build(root: SampleTree().root, config: []) != base, "config")
  }

  @Test func aLargeTreeIsBuiltAndFoundWhole() throws {
    let root = directory()
    var paths: [String] = []
    paths.reserveCapacity(100_000)
    // 2,000 directories in 40 groups, 50 files each: 100,000 files, 102,041 entries.
    for d in 0..<2_000 {
      for f in 0..<50 {
        let path = "group-\(d % 40)/dir-\(d)/file-\(f).txt"
        let n = d * 50 + f
        insert(file([UInt32(n % 1000 + 1)], chunks: [chunk(n % 5000)]), at: path, in: root)
        paths.append(path)
      }
    }
    let bytes = IndexBuilder.build(root: root)
    let index = try ImageIndex(bytes: bytes)
    #expect(index.count == 1 + 40 + 2_000 + 100_000)
    #expect(index.chunkCount == 5000)
    #expect(index.extentCount == 100_000)
    #expect(index.children(0).count == 40)
    var rng = SplitMix64(seed: 9)
    for _ in 0..<2_000 {
      let k = Int(rng.next() % UInt64(paths.count))
      let i = try #require(index.lookup(path: paths[k]), "\(paths[k])")
      #expect(index.path(of: i) == paths[k])
      let x = index.extent(index.extents(i).lowerBound)
      #expect(x.chunk == chunk(k % 5000) && x.length == UInt32(k % 1000 + 1))
    }
    #expect(index.lookup(path: "group-0/dir-1") == nil, "dir-1 is in group-1")
    #expect(index.lookup(path: "group-1/dir-1/file-50.txt") == nil)
  }

  /// Linux names are bytes; two names that differ in bytes but are canonically equivalent Unicode are two files.
  @Test func canonicallyEquivalentNamesAreDistinctFiles() throws {
    let root = directory()
    let precomposed = file([1], chunks: [chunk(1)])
    let decomposed = file([2], chunks: [chunk(2)])
    root.children["\u{E9}"] = precomposed
    root.children["e\u{301}"] = decomposed
    #expect(root.children.count == 2)
    let index = try ImageIndex(bytes: IndexBuilder.build(root: root))
    #expect(index.count == 3)
    let i = try #require(index.lookup("e\u{301}", in: 0))
    #expect(index.attributes(i).size == 2)
  }
}

/// A shallow copy of a node: same attributes, target and xattrs, same extents, no children.
func copy(_ node: TreeNode) -> TreeNode {
  let made = TreeNode(attributes: node.attributes)
  made.extents = node.extents
  made.symlinkTarget = node.symlinkTarget
  made.xattrs = node.xattrs
  return made
}
