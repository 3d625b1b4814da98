import Codecs
import ImageIndex
import Testing

/// A file's extents, finding the extent under an offset, and the image's chunk list.
@Suite struct ExtentTests {
  let tree = SampleTree()
  let index: ImageIndex

  init() throws { index = try ImageIndex(bytes: tree.build()) }

  @Test func extentsComeBackInFileOrder() throws {
    let big = try #require(index.lookup(path: "bin/big"))
    let got = index.extents(big).map(index.extent)
    #expect(got == tree.big.extents)
    #expect(got.map(\.chunk) == [chunk(1), chunk(2), chunk(1), chunk(3)])
    #expect(index.attributes(big).size == 365_539)
  }

  @Test func everyFileHasExactlyItsOwnExtents() throws {
    var total = 0
    for (path, node) in walk(tree.root) {
      let i = try #require(index.lookup(path: path))
      let extents = index.extents(i)
      total += extents.count
      #expect(extents.map(index.extent) == (node.attributes.type == .regular ? node.extents : []), "\(path)")
    }
    #expect(total == index.extentCount)
  }

  /// Offsets at each extent's first and last byte, in the middle, and outside the file.
  @Test(
    arguments: [
      (Int64(0), 0), (1, 0), (65_535, 0), (65_536, 1), (115_536, 1), (165_535, 1), (165_536, 2), (165_538, 2),
      (165_539, 3), (265_539, 3), (365_538, 3), (365_539, nil), (1 << 40, nil), (-1, nil), (Int64.min, nil),
    ] as [(Int64, Int?)])
  func theExtentUnderAnOffset(_ offset: Int64, _ expected: Int?) throws {
    let big = try #require(index.lookup(path: "bin/big"))
    let found = index.extent(of: big, at: offset)
    #expect(found.map { $0 - index.extents(big).lowerBound } == expected)
    if let found {
      let x = index.extent(found)
      #expect(x.offset <= offset && offset < x.offset + Int64(x.length))
    }
  }

  @Test func onlyRegularFilesWithDataHaveExtents() throws {
    for path in ["", "bin", "etc/empty", "usr/bin/big-link", "dev/null", "dev/fifo"] {
      let i = try #require(index.lookup(path: path))
      #expect(index.extents(i).isEmpty, "\(path)")
      #expect(index.extent(of: i, at: 0) == nil, "\(path)")
    }
  }

  @Test func chunksAreTheDistinctDigestsSorted() {
    var used = Set<Digest>()
    for (_, node) in walk(tree.root) where node.attributes.type == .regular {
      used.formUnion(node.extents.map(\.chunk))
    }
    #expect(index.chunks == used.sorted())
    #expect(index.chunkCount == 8)
    #expect(index.chunks.map(\.bytes) == index.chunks.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) })
    for k in 0..<index.chunkCount { #expect(index.chunk(k) == index.chunks[k]) }
  }

  @Test func anImageWithoutDataHasNoChunks() throws {
    let root = directory()
    insert(file(), at: "empty", in: root)
    insert(symlink("empty"), at: "link", in: root)
    let index = try ImageIndex(bytes: IndexBuilder.build(root: root))
    #expect(index.chunks.isEmpty && index.chunkCount == 0 && index.extentCount == 0)
    #expect(index.extent(of: try #require(index.lookup(path: "empty")), at: 0) == nil)
  }

  /// Extents on anything but a regular file are not part of the image.
  @Test func extentsOnOtherTypesAreIgnored() throws {
    let root = directory()
    let dir = directory()
    dir.extents = [Extent(offset: 0, chunk: chunk(99), length: 10)]
    insert(dir, at: "d", in: root)
    let index = try ImageIndex(bytes: IndexBuilder.build(root: root))
    #expect(index.chunks.isEmpty && index.extentCount == 0)
    #expect(index.extents(try #require(index.lookup(path: "d"))).isEmpty)
  }
}
