import Codecs
import Glibc
import LinuxSystem

/// The result of `verify`: what was checked, and every problem found (empty when the store is sound).
public struct VerifyReport: Sendable {
  public var packs = 0
  public var chunks = 0
  public var images = 0
  public var problems: [String] = []
}

/// The result of `gc`.
public struct CollectReport: Sendable {
  public var packsRemoved = 0
  public var packsRewritten = 0
  public var chunksRemoved = 0
  public var bytesFreed: Int64 = 0
}

extension ChunkStore {
  /// Re-reads and re-hashes every chunk of every committed pack, checks every pack index, image index and
  /// name, and that every chunk an image needs is present. `chunksOf` lists the chunks an image index uses.
  /// Interrupted writes (tmp/, a .pack without its .idx) are not problems: they were never committed.
  public func verify(chunksOf: ([UInt8]) throws -> [Digest]) throws -> VerifyReport {
    var report = VerifyReport()
    for id in try committedPackIDs() {
      report.packs += 1
      let idxPath = "\(packsDirectory)/\(id.hex).idx"
      let bytes = try Files.read(idxPath)
      guard Digest.of(bytes) == id, let entries = PackIndexRecord.parse(bytes, pack: 0) else {
        report.problems.append("pack index \(id.hex).idx: corrupt (checksum or digest does not match its name)")
        continue
      }
      let packPath = "\(packsDirectory)/\(id.hex).pack"
      guard let fd = try? FileDescriptor.open(packPath, O_RDONLY) else {
        report.problems.append("pack \(id.hex).pack: missing (its index names \(entries.count) chunks)")
        continue
      }
      var blocks: [UInt64: [(Digest, ChunkLocation)]] = [:]
      for e in entries { blocks[e.1.blockOffset, default: []].append(e) }
      for (offset, members) in blocks.sorted(by: { $0.key < $1.key }) {
        let loc = members[0].1
        var stored = [UInt8](repeating: 0, count: Int(loc.blockStoredLength))
        let n = (try? stored.withUnsafeMutableBytes { try fd.pread(into: $0, at: Int64(offset)) }) ?? -1
        var block = stored
        var failure: String? = n == stored.count ? nil : "pack truncated at offset \(offset)"
        if failure == nil && loc.compressed {
          block = [UInt8](repeating: 0, count: Int(loc.blockRawLength))
          do {
            try stored.withUnsafeBytes { s in try block.withUnsafeMutableBytes { try Zstd.decompress(s, into: $0) } }
          } catch { failure = "\(error)" }
        }
        for (d, l) in members {
          report.chunks += 1
          if let failure {
            report.problems.append("chunk \(d) in pack \(id.hex): \(failure)")
            continue
          }
          let end = Int(l.offsetInBlock) + Int(l.length)
          let ok =
            end <= block.count
            && block.withUnsafeBytes {
              Digest.of(UnsafeRawBufferPointer(rebasing: $0[Int(l.offsetInBlock)..<end])) == d
            }
          if !ok { report.problems.append("chunk \(d) in pack \(id.hex): content does not match digest") }
        }
      }
    }
    for image in try imageDigests() {
      report.images += 1
      do {
        let bytes = try indexBytes(image)
        let missing = try chunksOf(bytes).filter { !contains($0) }
        if let first = missing.first {
          report.problems.append("image \(image): \(missing.count) chunk(s) missing, first \(first)")
        }
      } catch {
        report.problems.append("image \(image): \(error)")
      }
    }
    for (name, digest) in try names() where !Files.exists(indexPath(digest)) {
      report.problems.append("name \(name): points to \(digest), which is not in the store")
    }
    return report
  }

  /// Removes every chunk that no image index references: packs with no live chunk are deleted, packs with
  /// some are rewritten with only the blocks that hold live chunks. Also clears interrupted writes.
  /// Waits for imports in progress to finish (and blocks new ones) by taking the store lock exclusively.
  public func collectGarbage(chunksOf: ([UInt8]) throws -> [Digest]) throws -> CollectReport {
    guard let lock = try FileLock.acquire(root + "/lock", exclusive: true) else { return CollectReport() }
    defer { lock.unlock() }
    try reloadPacks()
    var live = Set<Digest>()
    for image in try imageDigests() { live.formUnion(try chunksOf(try indexBytes(image))) }
    var report = CollectReport()
    for name in try Files.list(tmpDirectory) { Files.removeTree("\(tmpDirectory)/\(name)") }
    let committed = Set(try committedPackIDs().map(\.hex))
    for name in try Files.list(packsDirectory)
    where name.hasSuffix(".pack") && !committed.contains(String(name.dropLast(5))) {
      report.bytesFreed += fileSize("\(packsDirectory)/\(name)")
      unlink("\(packsDirectory)/\(name)")
    }
    for id in try committedPackIDs() {
      let base = "\(packsDirectory)/\(id.hex)"
      guard let entries = PackIndexRecord.parse(try Files.read(base + ".idx"), pack: 0) else {
        throw StoreError.corruptPackIndex(path: base + ".idx")
      }
      let keep = entries.filter { live.contains($0.0) }
      if keep.count == entries.count { continue }
      report.chunksRemoved += entries.count - keep.count
      var before = fileSize(base + ".pack")
      if !keep.isEmpty {
        before -= try rewritePack(base + ".pack", keeping: keep)
        report.packsRewritten += 1
      } else {
        report.packsRemoved += 1
      }
      // The index goes first: a pack without an index is never read.
      unlink(base + ".idx")
      unlink(base + ".pack")
      report.bytesFreed += before
    }
    Files.fsyncDirectory(packsDirectory)
    try reloadPacks()
    return report
  }

  /// Copies the blocks holding `keep` into a new pack (committed the usual way) and subtracts its size
  /// from nothing: the caller removes the old pack afterwards.
  /// Copies the blocks holding `keep` into a new pack; returns its size. (A block is copied whole, with any
  /// dead chunks in it: recompressing would cost more than the bytes are worth.)
  private func rewritePack(_ path: String, keeping keep: [(Digest, ChunkLocation)]) throws -> Int64 {
    let fd = try FileDescriptor.open(path, O_RDONLY)
    let writer = PackWriter(store: self)
    var blocks: [UInt64: [(Digest, ChunkLocation)]] = [:]
    for e in keep { blocks[e.1.blockOffset, default: []].append(e) }
    for (offset, members) in blocks.sorted(by: { $0.key < $1.key }) {
      let l = members[0].1
      var stored = [UInt8](repeating: 0, count: Int(l.blockStoredLength))
      _ = try stored.withUnsafeMutableBytes { try fd.pread(into: $0, at: Int64(offset)) }
      try writer.append(
        stored, rawLength: l.blockRawLength, compressed: l.compressed,
        chunks: members.map { ($0.0, $0.1.offsetInBlock, $0.1.length) })
    }
    try writer.commit()
    return writer.bytesWritten + Int64(StoreLayout.packMagic.count)
  }

  private func fileSize(_ path: String) -> Int64 {
    var st = stat()
    return lstat(path, &st) == 0 ? Int64(st.st_size) : 0
  }

  /// Bytes on disk in committed packs.
  public func storedBytes() throws -> Int64 {
    try committedPackIDs().reduce(0) { $0 + fileSize("\(packsDirectory)/\($1.hex).pack") }
  }
}
