import Glibc
import Synchronization

/// Whole-file helpers built so that a crash at any instant leaves either the old file or the new one.
public enum Files {
  /// Writes `bytes` to `path` atomically: a unique temporary file in the same directory, fsync, rename,
  /// then fsync of the directory so the rename itself survives a power cut. `durable: false` skips both
  /// fsyncs, for files that do not outlive a reboot anyway (a runtime's state under /run): the rename
  /// alone keeps them whole when a process dies, and an fsync on a disk-backed /run costs milliseconds.
  public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true)
    throws
  {
    let dir = dirname(of: path)
    let tmp = "\(dir)/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: mode)
    do {
      try fd.write(bytes)
      if durable { try fd.fsync() }
    } catch {
      unlink(tmp)
      throw error
    }
    fd.close()
    do {
      _ = try syscall("rename", path: path) { Glibc.rename(tmp, path) }
    } catch {
      unlink(tmp)
      throw error
    }
    if durable { fsyncDirectory(dir) }
  }

  public static func fsyncDirectory(_ dir: String) {
    if let fd = try? FileDescriptor.open(dir, O_RDONLY | O_DIRECTORY) { try? fd.fsync() }
  }

  public static func read(_ path: String) throws -> [UInt8] {
    try FileDescriptor.open(path, O_RDONLY).readAll()
  }

  public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

  public static func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
  }

  /// Creates `path` and its missing parents, like `mkdir -p`.
  /// A parent that another process removes between its mkdir and the child's (an empty cgroup parent that
  /// a concurrent delete cleans up, say) is made again, a few times, before ENOENT is reported.
  public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
    var attempts = 0
    while true {
      if isDirectory(path) { return }
      let parent = dirname(of: path)
      if parent != path && !parent.isEmpty { try makeDirectories(parent, mode: mode) }
      if Glibc.mkdir(path, mode) == 0 || errno == EEXIST { return }
      attempts += 1
      guard errno == ENOENT, attempts < 5 else { throw SystemError("mkdir", path: path) }
    }
  }

  /// Makes one directory; returns false when something is already at `path` (EEXIST), throws otherwise.
  @discardableResult
  public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws -> Bool {
    if Glibc.mkdir(path, mode) == 0 { return true }
    if errno == EEXIST { return false }
    throw SystemError("mkdir", path: path)
  }

  /// Removes a file; one that is not there is not an error.
  public static func removeFile(_ path: String) throws {
    if unlink(path) != 0 && errno != ENOENT { throw SystemError("unlink", path: path) }
  }

  /// The names in a directory, without "." and "..", in no particular order.
  public static func list(_ path: String) throws -> [String] {
    guard let d = opendir(path) else { throw SystemError("opendir", path: path) }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
      let name = withUnsafePointer(to: e.pointee.d_name) {
        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  /// Removes a file or a whole tree; missing paths are not an error.
  public static func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if (st.st_mode & S_IFMT) == S_IFDIR {
      for name in (try? list(path)) ?? [] { removeTree(path + "/" + name) }
      rmdir(path)
    } else {
      unlink(path)
    }
  }

  public static func dirname(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
  }
}

/// An advisory lock on a file (flock), shared or exclusive, released on `unlock` (once; later calls do
/// nothing, so a descriptor number reused elsewhere is never closed by mistake) or at process exit.
public final class FileLock: Sendable {
  /// The locked file, until `unlock` closes it.
  private let fd: Mutex<FileDescriptor?>

  private init(fd: consuming FileDescriptor) { self.fd = Mutex(fd) }

  /// Locks the file at `path` (created if missing), or the directory at `path` with `directory`; nil when
  /// it is held elsewhere and `wait` is false.
  public static func acquire(_ path: String, exclusive: Bool, wait: Bool = true, directory: Bool = false) throws
    -> FileLock?
  {
    let fd = try FileDescriptor.open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDWR | O_CREAT, mode: 0o644)
    var op = exclusive ? LOCK_EX : LOCK_SH
    if !wait { op |= LOCK_NB }
    do {
      _ = try syscall("flock", path: path) { flock(fd.raw, op) }
    } catch let error as SystemError where error.errno.isTransient {
      return nil  // EWOULDBLOCK: held elsewhere, and not waiting
    }
    return FileLock(fd: fd)
  }

  public func unlock() { fd.withLock { $0 = nil } }

  /// fstat(2) of the locked file (nil once unlocked): whether it is still linked, say, after waiting for
  /// a lock on something another process may have removed meanwhile.
  public func status() -> stat? {
    fd.withLock { fd -> stat? in
      var st = stat()
      guard let raw = fd?.raw, fstat(raw, &st) == 0 else { return nil }
      return st
    }
  }
}
