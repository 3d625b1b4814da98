import Glibc
import LinuxSystem
import Synchronization

/// Blocks fetched from a remote store, kept on local disk up to `maxBytes`, least recently used evicted.
///
/// Entries are whole files written to a temporary name and renamed, so a reader sees a complete block or
/// none; readers check every chunk's digest anyway, and drop a block that fails. Eviction unlinks: a
/// reader that already opened the file still reads all of it, so a block in use is never cut short.
public final class DiskCache: @unchecked Sendable {
  public let directory: String
  public let maxBytes: Int64

  private struct State {
    var sizes: [String: Int64] = [:]
    /// Use order: key -> tick of last use; evict the smallest tick.
    var lastUse: [String: UInt64] = [:]
    var tick: UInt64 = 0
    var total: Int64 = 0
  }
  private let state = Mutex(State())

  /// Opens (creating) the cache at `directory`; what an earlier run left is kept, oldest first to go.
  public init(directory: String, maxBytes: Int64) throws {
    self.directory = directory
    self.maxBytes = maxBytes
    try Files.makeDirectories(directory, mode: 0o700)
    var found: [(String, Int64, Int)] = []
    for name in try Files.list(directory) {
      let path = "\(directory)/\(name)"
      if name.hasPrefix(".tmp-") {
        unlink(path)
        continue
      }
      var st = stat()
      if lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG {
        found.append((name, Int64(st.st_size), st.st_atim.tv_sec))
      }
    }
    state.withLock { s in
      for (name, size, _) in found.sorted(by: { $0.2 < $1.2 }) {
        s.tick += 1
        s.sizes[name] = size
        s.lastUse[name] = s.tick
        s.total += size
      }
    }
    evict()
  }

  public var usedBytes: Int64 { state.withLock { $0.total } }

  public func get(_ key: String) -> [UInt8]? {
    guard
      state.withLock({ s in
        guard s.sizes[key] != nil else { return false }
        s.tick += 1
        s.lastUse[key] = s.tick
        return true
      })
    else { return nil }
    return try? Files.read("\(directory)/\(key)")
  }

  /// Whether `key` is held (as far as this process knows: no disk access).
  public func contains(_ key: String) -> Bool { state.withLock { $0.sizes[key] != nil } }

  public func put(_ key: String, _ bytes: [UInt8]) {
    let tmp = "\(directory)/.tmp-\(key)-\(UInt32.random(in: 0...UInt32.max))"
    do {
      let fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
      try bytes.withUnsafeBytes { try fd.write($0) }
      guard rename(tmp, "\(directory)/\(key)") == 0 else { throw SystemError("rename", path: tmp) }
    } catch {
      unlink(tmp)  // a full disk only costs a refetch later
      return
    }
    state.withLock { s in
      s.tick += 1
      s.total += Int64(bytes.count) - (s.sizes[key] ?? 0)
      s.sizes[key] = Int64(bytes.count)
      s.lastUse[key] = s.tick
    }
    evict()
  }

  /// Forgets a block that turned out corrupt.
  public func remove(_ key: String) {
    state.withLock { s in
      if let size = s.sizes.removeValue(forKey: key) {
        s.total -= size
        s.lastUse[key] = nil
      }
    }
    unlink("\(directory)/\(key)")
  }

  private func evict() {
    let victims: [String] = state.withLock { s in
      guard s.total > maxBytes else { return [] }
      var out: [String] = []
      for (key, _) in s.lastUse.sorted(by: { $0.value < $1.value }) {
        guard s.total > maxBytes else { break }
        s.total -= s.sizes.removeValue(forKey: key) ?? 0
        s.lastUse[key] = nil
        out.append(key)
      }
      return out
    }
    for key in victims { unlink("\(directory)/\(key)") }
  }
}
