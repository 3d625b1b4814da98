import Codecs
import Glibc
import LinuxSystem

/// A read-only view of an image index (see `IndexFormat`), memory-mapped or in memory.
///
/// Opening checks the header and that every section lies inside the file; nothing else is read until asked
/// for, so opening a 100,000-file image costs the same as opening a 10-file one. Entry numbers are stable:
/// they are the kernel's inode numbers minus one.
public final class ImageIndex: @unchecked Sendable {
  private let base: UnsafeRawPointer
  private let length: Int
  private let unmap: Bool
  private let owned: [UInt8]?

  public let count: Int
  public let chunkCount: Int
  public let extentCount: Int
  private let entriesOffset: Int
  private let extentsOffset: Int
  private let chunksOffset: Int
  private let stringsOffset: Int
  private let configRange: Range<Int>

  /// Maps the index file at `path`. With `expect`, also checks the index's SHA-256 (reads it once). A
  /// file that is a zstd frame (how stores write indexes, see `ChunkStore.putIndex`) is decompressed into
  /// memory first.
  public convenience init(path: String, expect: Digest? = nil) throws {
    let fd = try FileDescriptor.open(path, O_RDONLY)
    let size = Int(try fd.size())
    guard size >= 4 else { throw IndexError("\(path): too short to be an image index") }
    guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd.raw, 0), p != MAP_FAILED else {
      throw SystemError("mmap", path: path)
    }
    let file = UnsafeRawBufferPointer(start: p, count: size)
    if Zstd.isFrame(file) {
      defer { munmap(p, size) }
      let index = try Self.decompress(file, path: path)
      if let expect, Digest.of(UnsafeRawBufferPointer(index)) != expect {
        munmap(index.baseAddress, index.count)
        throw IndexError("\(path): content does not match digest \(expect)")
      }
      try self.init(base: UnsafeRawPointer(index.baseAddress!), length: index.count, unmap: true, owned: nil)
      return
    }
    guard size >= IndexFormat.headerSize else {
      munmap(p, size)
      throw IndexError("\(path): too short to be an image index")
    }
    // Check the digest before trusting any offset in the file.
    if let expect, Digest.of(file) != expect {
      munmap(p, size)
      throw IndexError("\(path): content does not match digest \(expect)")
    }
    try self.init(base: UnsafeRawPointer(p), length: size, unmap: true, owned: nil)
  }

  /// Decompresses an index file's frame into fresh anonymous memory, faulted in up front (MAP_POPULATE:
  /// one call instead of a page fault per 4 KiB, which cost ~2.6 µs each on the VM this was measured on).
  private static func decompress(_ file: UnsafeRawBufferPointer, path: String) throws -> UnsafeMutableRawBufferPointer {
    let n: Int
    do { n = try Zstd.frameContentSize(file, limit: IndexFormat.maximumSize) } catch {
      throw IndexError(path, cause: error)
    }
    guard n >= IndexFormat.headerSize else { throw IndexError("\(path): too short to be an image index") }
    guard let q = mmap(nil, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0),
      q != MAP_FAILED
    else { throw SystemError("mmap", path: path) }
    let index = UnsafeMutableRawBufferPointer(start: q, count: n)
    do { try Zstd.decompress(UnsafeRawBufferPointer(file), into: index) } catch {
      munmap(q, n)
      throw IndexError(path, cause: error)
    }
    return index
  }

  /// Reads an index held in memory.
  public convenience init(bytes: [UInt8]) throws {
    guard bytes.count >= IndexFormat.headerSize else { throw IndexError("too short to be an image index") }
    let p = bytes.withUnsafeBytes { $0.baseAddress! }
    try self.init(base: p, length: bytes.count, unmap: false, owned: bytes)
  }

  private init(base: UnsafeRawPointer, length: Int, unmap: Bool, owned: [UInt8]?) throws {
    self.owned = owned
    // An array's storage does not move while the array is alive and unmodified; `owned` keeps it alive.
    self.base = owned.map { $0.withUnsafeBytes { $0.baseAddress! } } ?? base
    self.length = length
    self.unmap = unmap
    let b = self.base
    func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self))) }
    func u64(_ o: Int) -> Int {
      Int(truncatingIfNeeded: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
    }
    count = u32(8)
    chunkCount = u32(12)
    extentCount = u64(16)
    entriesOffset = u64(24)
    extentsOffset = u64(32)
    chunksOffset = u64(40)
    stringsOffset = u64(48)
    // Every sum and product below is checked: a crafted header must be an error, not a trap.
    func add(_ a: Int, _ b: Int) -> Int? {
      let (r, o) = a.addingReportingOverflow(b)
      return o ? nil : r
    }
    func mul(_ a: Int, _ b: Int) -> Int? {
      let (r, o) = a.multipliedReportingOverflow(by: b)
      return o ? nil : r
    }
    let configStart = add(stringsOffset, u32(56))
    let configEnd = configStart.flatMap { add($0, u32(60)) }
    configRange = (configStart ?? 0)..<max(configStart ?? 0, configEnd ?? 0)
    let magicOK = IndexFormat.magic.withUnsafeBytes { memcmp($0.baseAddress!, b, 8) == 0 }
    let sane =
      magicOK && count >= 1 && extentCount >= 0 && entriesOffset == IndexFormat.headerSize
      && extentsOffset >= 0 && chunksOffset >= 0 && stringsOffset >= 0
      && mul(count, IndexFormat.entrySize).flatMap { add(entriesOffset, $0) } == extentsOffset
      && mul(extentCount, IndexFormat.extentSize).flatMap { add(extentsOffset, $0) } == chunksOffset
      && mul(chunkCount, IndexFormat.chunkSize).flatMap { add(chunksOffset, $0) } == stringsOffset
      && stringsOffset <= length && configEnd != nil && configEnd! <= length
    if !sane {
      if unmap { munmap(UnsafeMutableRawPointer(mutating: base), length) }
      throw IndexError("not an image index, or a corrupt one (bad magic or section bounds)")
    }
  }

  deinit { if unmap { munmap(UnsafeMutableRawPointer(mutating: base), length) } }

  // MARK: Records

  @inline(__always) private func e32(_ i: Int, _ o: Int) -> UInt32 {
    UInt32(
      littleEndian: base.loadUnaligned(fromByteOffset: entriesOffset + i * IndexFormat.entrySize + o, as: UInt32.self))
  }
  @inline(__always) private func e64(_ i: Int, _ o: Int) -> UInt64 {
    UInt64(
      littleEndian: base.loadUnaligned(fromByteOffset: entriesOffset + i * IndexFormat.entrySize + o, as: UInt64.self))
  }

  /// A byte range of the strings section, clamped to the file.
  private func strings(_ offset: UInt64, _ count: UInt64) -> UnsafeRawBufferPointer {
    let start = stringsOffset + Int(min(offset, UInt64(length - stringsOffset)))
    return UnsafeRawBufferPointer(start: base + start, count: Int(min(count, UInt64(length - start))))
  }

  /// A count or an entry, extent or chunk number read from the file, clamped to `limit`: a damaged index
  /// gives wrong answers, never a read outside the mapping.
  @inline(__always) private func clamp(_ v: UInt64, _ limit: Int) -> Int { Int(min(v, UInt64(limit))) }

  public func attributes(_ i: Int) -> EntryAttributes {
    EntryAttributes(
      mode: e32(i, 0), uid: e32(i, 4), gid: e32(i, 8), size: Int64(bitPattern: e64(i, 16)),
      mtimeSeconds: Int64(bitPattern: e64(i, 24)), mtimeNanoseconds: e32(i, 32), rdev: e64(i, 72))
  }

  public func nlink(_ i: Int) -> UInt32 { e32(i, 12) }
  public func parent(_ i: Int) -> Int { clamp(UInt64(e32(i, 36)), count - 1) }
  /// The entry number of the first name of `i`'s hardlink group (`i` itself when it has one name).
  public func inode(_ i: Int) -> Int { clamp(UInt64(e32(i, 52)), count - 1) }
  public func type(_ i: Int) -> FileType? { FileType(mode: e32(i, 0)) }

  public func nameBytes(_ i: Int) -> UnsafeRawBufferPointer { strings(e64(i, 40), UInt64(e32(i, 48))) }
  public func name(_ i: Int) -> String { String(decoding: nameBytes(i), as: UTF8.self) }

  /// The entry numbers of a directory's children, in name order (empty for anything else).
  public func children(_ i: Int) -> Range<Int> {
    guard type(i) == .directory else { return 0..<0 }
    let first = clamp(e64(i, 56), count)
    return first..<(first + clamp(e64(i, 64), count - first))
  }

  /// Finds `name` in directory `dir` by binary search.
  public func lookup(_ name: some StringProtocol, in dir: Int) -> Int? {
    var key = Array(name.utf8)
    return key.withUnsafeMutableBytes { k -> Int? in
      var range = children(dir)
      while !range.isEmpty {
        let mid = range.lowerBound + range.count / 2
        let n = nameBytes(mid)
        var c = memcmp(n.baseAddress!, k.baseAddress!, min(n.count, k.count))
        if c == 0 { c = n.count < k.count ? -1 : (n.count > k.count ? 1 : 0) }
        if c == 0 { return mid }
        range = c < 0 ? (mid + 1)..<range.upperBound : range.lowerBound..<mid
      }
      return nil
    }
  }

  /// Finds a path relative to the root ("" or "/" is the root); symlinks are not followed.
  public func lookup(path: String) -> Int? {
    var at = 0
    for component in path.split(separator: "/") where component != "." {
      guard let next = lookup(component, in: at) else { return nil }
      at = next
    }
    return at
  }

  /// The path of entry `i` from the root, without a leading slash ("" for the root).
  public func path(of i: Int) -> String {
    var parts: [String] = []
    var at = i
    while at != 0 && at < count && parts.count <= count {
      parts.append(name(at))
      at = parent(at)
    }
    return parts.reversed().joined(separator: "/")
  }

  public func symlinkTarget(_ i: Int) -> String {
    guard type(i) == .symlink else { return "" }
    return String(decoding: strings(e64(i, 56), e64(i, 64)), as: UTF8.self)
  }

  /// The extent numbers of a regular file, in file order.
  public func extents(_ i: Int) -> Range<Int> {
    guard type(i) == .regular else { return 0..<0 }
    let first = clamp(e64(i, 56), extentCount)
    return first..<(first + clamp(e64(i, 64), extentCount - first))
  }

  public func extent(_ k: Int) -> Extent {
    let p = base + extentsOffset + k * IndexFormat.extentSize
    let (number, length) = extentChunk(k)
    return Extent(
      offset: Int64(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))), chunk: chunk(number),
      length: length)
  }

  /// The number, in the image's sorted table of distinct chunks, of the chunk behind extent `k`, and the
  /// extent's length: what totals over chunks need, without resolving any digest.
  public func extentChunk(_ k: Int) -> (number: Int, length: UInt32) {
    let p = base + extentsOffset + k * IndexFormat.extentSize
    let number = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
    return (
      min(number, max(chunkCount - 1, 0)), UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
    )
  }

  /// The number of the extent holding byte `offset` of file `i` (binary search), if any.
  public func extent(of i: Int, at offset: Int64) -> Int? {
    var range = extents(i)
    while !range.isEmpty {
      let mid = range.lowerBound + range.count / 2
      let x = extent(mid)
      if offset < x.offset {
        range = range.lowerBound..<mid
      } else if offset >= x.offset + Int64(x.length) {
        range = (mid + 1)..<range.upperBound
      } else {
        return mid
      }
    }
    return nil
  }

  public func chunk(_ n: Int) -> Digest {
    Digest(bytes: UnsafeRawBufferPointer(start: base + chunksOffset + n * IndexFormat.chunkSize, count: 32))
  }

  /// Every distinct chunk the image uses.
  public var chunks: [Digest] { (0..<chunkCount).map(chunk) }

  public func xattrs(_ i: Int) -> [(name: String, value: [UInt8])] {
    let blob = strings(e64(i, 80), UInt64(e32(i, 88)))
    var out: [(String, [UInt8])] = []
    var at = 0
    while at + 8 <= blob.count {
      let n = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
      let v = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)))
      guard at + 8 + n + v <= blob.count else { break }
      out.append(
        (
          String(decoding: UnsafeRawBufferPointer(rebasing: blob[(at + 8)..<(at + 8 + n)]), as: UTF8.self),
          Array(blob[(at + 8 + n)..<(at + 8 + n + v)])
        ))
      at += 8 + n + v
    }
    return out
  }

  /// The image's configuration (the OCI config JSON, when the source had one).
  public var config: [UInt8] {
    Array(UnsafeRawBufferPointer(start: base + configRange.lowerBound, count: configRange.count))
  }
}
