import Codecs

/// A directory tree being assembled (by the importer, layer over layer) before it is frozen into an index.
///
/// A hardlink is the same `Node` object under two or more names; the builder finds those groups by identity.
public final class TreeNode {
  public var attributes: EntryAttributes
  public var children: [EntryName: TreeNode] = [:]
  public var extents: [Extent] = []
  public var symlinkTarget = ""
  public var xattrs: [(name: String, value: [UInt8])] = []

  public init(attributes: EntryAttributes) { self.attributes = attributes }

  public var isDirectory: Bool { attributes.type == .directory }
}

/// A name in a directory, compared byte for byte as the kernel does. (Swift's `String` equality is
/// canonical equivalence: "\u{E9}" and "e\u{301}" are equal strings, but two different files on Linux.)
public struct EntryName: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
  public let bytes: [UInt8]
  public init(_ name: some StringProtocol) { bytes = Array(name.utf8) }
  public init(stringLiteral value: String) { self.init(value) }
  public var description: String { String(decoding: bytes, as: UTF8.self) }
}

/// Serialises a tree into the index format (see `IndexFormat`). Deterministic: the same tree always gives
/// the same bytes, so the same image imported twice, or by two machines, has the same digest.
public enum IndexBuilder {
  public static func build(root: TreeNode, config: [UInt8] = []) -> [UInt8] {
    // Breadth-first order with sorted children: each directory's children are contiguous.
    var order: [(node: TreeNode, name: [UInt8], parent: Int)] = [(root, [], 0)]
    var childRange: [Int: (first: Int, count: Int)] = [:]
    var i = 0
    while i < order.count {
      let node = order[i].node
      if node.isDirectory {
        let sorted = node.children.map { ($0.key.bytes, $0.value) }.sorted {
          $0.0.lexicographicallyPrecedes($1.0)
        }
        childRange[i] = (order.count, sorted.count)
        for (name, child) in sorted { order.append((child, name, i)) }
      }
      i += 1
    }
    // Hardlink groups: the first entry of each object is its inode.
    var firstIndex: [ObjectIdentifier: Int] = [:]
    var names: [ObjectIdentifier: Int] = [:]
    for (k, e) in order.enumerated() where !e.node.isDirectory {
      let id = ObjectIdentifier(e.node)
      if firstIndex[id] == nil { firstIndex[id] = k }
      names[id, default: 0] += 1
    }
    // Distinct chunks, sorted.
    var chunkSet = Set<Digest>()
    var extentCount = 0
    for e in order where e.node.attributes.type == .regular {
      extentCount += e.node.extents.count
      for x in e.node.extents { chunkSet.insert(x.chunk) }
    }
    let chunks = chunkSet.sorted()
    var chunkNumber: [Digest: UInt32] = [:]
    chunkNumber.reserveCapacity(chunks.count)
    for (n, d) in chunks.enumerated() { chunkNumber[d] = UInt32(n) }

    var strings: [UInt8] = []
    func string(_ bytes: [UInt8]) -> UInt64 {
      let at = UInt64(strings.count)
      strings.append(contentsOf: bytes)
      return at
    }

    let entriesOffset = IndexFormat.headerSize
    let extentsOffset = entriesOffset + order.count * IndexFormat.entrySize
    let chunksOffset = extentsOffset + extentCount * IndexFormat.extentSize
    let stringsOffset = chunksOffset + chunks.count * IndexFormat.chunkSize
    var entries = [UInt8](repeating: 0, count: order.count * IndexFormat.entrySize)
    var extents = [UInt8](repeating: 0, count: extentCount * IndexFormat.extentSize)
    var nextExtent = 0

    entries.withUnsafeMutableBytes { eb in
      extents.withUnsafeMutableBytes { xb in
        for (k, e) in order.enumerated() {
          let a = e.node.attributes
          let p = eb.baseAddress! + k * IndexFormat.entrySize
          func put<T: FixedWidthInteger>(_ v: T, _ at: Int) {
            p.storeBytes(of: v.littleEndian, toByteOffset: at, as: T.self)
          }
          var first: UInt64 = 0
          var count: UInt64 = 0
          var nlink: UInt32 = 1
          var inode = UInt32(k)
          switch a.type {
          case .directory:
            let r = childRange[k]!
            first = UInt64(r.first)
            count = UInt64(r.count)
            nlink = 2 + UInt32(e.node.children.values.filter(\.isDirectory).count)
          case .regular:
            first = UInt64(nextExtent)
            count = UInt64(e.node.extents.count)
            for x in e.node.extents {
              let q = xb.baseAddress! + nextExtent * IndexFormat.extentSize
              q.storeBytes(of: UInt64(x.offset).littleEndian, toByteOffset: 0, as: UInt64.self)
              q.storeBytes(of: chunkNumber[x.chunk]!.littleEndian, toByteOffset: 8, as: UInt32.self)
              q.storeBytes(of: x.length.littleEndian, toByteOffset: 12, as: UInt32.self)
              nextExtent += 1
            }
          case .symlink:
            let target = Array(e.node.symlinkTarget.utf8)
            first = string(target)
            count = UInt64(target.count)
          default: break
          }
          if !e.node.isDirectory {
            let id = ObjectIdentifier(e.node)
            inode = UInt32(firstIndex[id]!)
            nlink = UInt32(names[id]!)
          }
          var blob: [UInt8] = []
          for (name, value) in e.node.xattrs.sorted(by: { $0.name < $1.name }) {
            let n = Array(name.utf8)
            withUnsafeBytes(of: UInt32(n.count).littleEndian) { blob.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt32(value.count).littleEndian) { blob.append(contentsOf: $0) }
            blob.append(contentsOf: n)
            blob.append(contentsOf: value)
          }
          put(a.mode, 0)
          put(a.uid, 4)
          put(a.gid, 8)
          put(nlink, 12)
          put(UInt64(a.type == .regular ? a.size : a.type == .symlink ? Int64(count) : 0), 16)
          put(a.mtimeSeconds, 24)
          put(a.mtimeNanoseconds, 32)
          put(UInt32(e.parent), 36)
          put(string(e.name), 40)
          put(UInt32(e.name.count), 48)
          put(inode, 52)
          put(first, 56)
          put(count, 64)
          put(a.rdev, 72)
          put(blob.isEmpty ? 0 : string(blob), 80)
          put(UInt32(blob.count), 88)
        }
      }
    }
    let configOffset = string(config)

    var out = [UInt8](repeating: 0, count: IndexFormat.headerSize)
    out.withUnsafeMutableBytes { h in
      h.copyBytes(from: IndexFormat.magic)
      h.storeBytes(of: UInt32(order.count).littleEndian, toByteOffset: 8, as: UInt32.self)
      h.storeBytes(of: UInt32(chunks.count).littleEndian, toByteOffset: 12, as: UInt32.self)
      h.storeBytes(of: UInt64(extentCount).littleEndian, toByteOffset: 16, as: UInt64.self)
      h.storeBytes(of: UInt64(entriesOffset).littleEndian, toByteOffset: 24, as: UInt64.self)
      h.storeBytes(of: UInt64(extentsOffset).littleEndian, toByteOffset: 32, as: UInt64.self)
      h.storeBytes(of: UInt64(chunksOffset).littleEndian, toByteOffset: 40, as: UInt64.self)
      h.storeBytes(of: UInt64(stringsOffset).littleEndian, toByteOffset: 48, as: UInt64.self)
      h.storeBytes(of: UInt32(configOffset).littleEndian, toByteOffset: 56, as: UInt32.self)
      h.storeBytes(of: UInt32(config.count).littleEndian, toByteOffset: 60, as: UInt32.self)
    }
    out.reserveCapacity(stringsOffset + strings.count)
    out += entries
    out += extents
    for d in chunks { out += d.bytes }
    out += strings
    return out
  }
}
