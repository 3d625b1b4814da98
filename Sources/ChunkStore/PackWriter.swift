import Codecs
import Glibc
import LinuxSystem
import Synchronization

/// Appends blocks to a pack under tmp/, and commits it: fsync the pack, write its index, rename both into
/// packs/ (the index last, as the commit point). Rolls over to a new pack past `StoreLayout.packTarget`.
final class PackWriter: Sendable {
  private let store: ChunkStore
  private let state = Mutex(State())

  struct State: ~Copyable {
    var fd: FileDescriptor?
    var tmpPath = ""
    var size: Int64 = 0
    var entries: [(Digest, ChunkLocation)] = []
    var written: Int64 = 0
    var committed: [String] = []
  }

  init(store: ChunkStore) { self.store = store }

  var bytesWritten: Int64 { state.withLock { $0.written } }

  func append(_ stored: [UInt8], rawLength: UInt32, compressed: Bool, chunks: [(Digest, UInt32, UInt32)]) throws {
    try state.withLock { s in
      if s.fd == nil {
        s.tmpPath = "\(store.tmpDirectory)/pack-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).pack"
        let fd = try FileDescriptor.open(s.tmpPath, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        try fd.write(StoreLayout.packMagic)
        s.fd = consume fd
        s.size = Int64(StoreLayout.packMagic.count)
      }
      let offset = s.size
      try stored.withUnsafeBytes { bytes in try s.fd?.write(bytes) }
      s.size += Int64(stored.count)
      s.written += Int64(stored.count)
      for (d, at, length) in chunks {
        s.entries.append(
          (
            d,
            ChunkLocation(
              pack: 0, blockOffset: UInt64(offset), blockStoredLength: UInt32(stored.count),
              blockRawLength: rawLength, offsetInBlock: at, length: length, compressed: compressed)
          ))
      }
      if s.size >= StoreLayout.packTarget { try close(&s) }
    }
  }

  func commit() throws { try state.withLock { try close(&$0) } }

  /// Closes the open pack and publishes it into packs/.
  private func close(_ s: inout State) throws {
    guard let fd = s.fd.take() else { return }
    defer { s.entries = [] }
    try fd.fsync()
    let (index, id) = PackIndexRecord.serialize(s.entries)
    let idxTmp = s.tmpPath + ".idx"
    let idx = try FileDescriptor.open(idxTmp, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
    try idx.write(index)
    try idx.fsync()
    let base = "\(store.packsDirectory)/\(id.hex)"
    _ = try syscall("rename", path: base + ".pack") { rename(s.tmpPath, base + ".pack") }
    _ = try syscall("rename", path: base + ".idx") { rename(idxTmp, base + ".idx") }
    Files.fsyncDirectory(store.packsDirectory)
    s.committed.append(id.hex)
  }

  /// Removes the pack being written (committed packs stay; gc removes what nothing references).
  func discard() {
    state.withLock { s in
      if s.fd.take() != nil { unlink(s.tmpPath) }
    }
  }
}
