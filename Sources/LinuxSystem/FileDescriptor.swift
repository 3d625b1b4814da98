import CLinux
import Glibc

/// A file descriptor this value owns: closed exactly once, when the value goes away (or by `close()`), and
/// never copied, only moved (`consume`) or lent (`borrowing`). A `defer { close(fd) }` forgotten on one
/// error path, or run twice on a copied struct, is a leak or a close of someone else's descriptor; here
/// neither can be written. A descriptor shared by many readers for a long time (a store's pack files)
/// lives in a `SharedDescriptor`.
public struct FileDescriptor: ~Copyable, Sendable {
  public let raw: Int32

  /// Takes ownership of `raw`, which must be open.
  public init(adopting raw: Int32) { self.raw = raw }

  deinit { _ = Glibc.close(raw) }

  public static func open(
    _ path: String, _ flags: Int32, mode: mode_t = 0o644, at dir: Int32 = AT_FDCWD
  ) throws -> FileDescriptor {
    FileDescriptor(adopting: try syscall("open", path: path) { Glibc.openat(dir, path, flags | O_CLOEXEC, mode) })
  }

  /// Closes it now rather than at the end of its scope.
  public consuming func close() { _ = Glibc.close(release()) }

  /// Gives the descriptor up without closing it: the caller owns it now.
  public consuming func release() -> Int32 {
    let raw = self.raw
    discard self
    return raw
  }

  /// Both ends of a new pipe, close-on-exec from the start (pipe2: no window in which a concurrent spawn
  /// inherits them, as pipe followed by fcntl has).
  public static func pipe() throws -> Pipe {
    var fds: [Int32] = [-1, -1]
    _ = try syscall("pipe2") { cl_pipe2_cloexec(&fds) }
    return Pipe(read: FileDescriptor(adopting: fds[0]), write: FileDescriptor(adopting: fds[1]))
  }

  /// Both ends of a pipe; take them apart with `consume` (`let w = pipe.write`).
  @frozen public struct Pipe: ~Copyable {
    public var read: FileDescriptor
    public var write: FileDescriptor
  }

  /// Reads up to `buffer.count` bytes; 0 means end of file.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    try syscall("read") { Glibc.read(raw, buffer.baseAddress, buffer.count) }
  }

  /// Reads until `buffer` is full or the file ends; returns the count read.
  public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var done = 0
    while done < buffer.count {
      let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
      if n == 0 { break }
      done += n
    }
    return done
  }

  /// Reads exactly `buffer.count` bytes at `offset`, or fewer only at end of file.
  public func pread(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
    var done = 0
    while done < buffer.count {
      let n = try syscall("pread") {
        Glibc.pread(raw, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
      }
      if n == 0 { break }
      done += n
    }
    return done
  }

  public func write(_ buffer: UnsafeRawBufferPointer) throws {
    var done = 0
    while done < buffer.count {
      done += try syscall("write") { Glibc.write(raw, buffer.baseAddress! + done, buffer.count - done) }
    }
  }

  public func write(_ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { b in try write(b) }
  }

  public func pwrite(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
    var done = 0
    while done < buffer.count {
      done += try syscall("pwrite") {
        Glibc.pwrite(raw, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
      }
    }
  }

  public func fsync() throws { _ = try syscall("fsync") { Glibc.fsync(raw) } }

  public func size() throws -> Int64 {
    var st = stat()
    _ = try syscall("fstat") { Glibc.fstat(raw, &st) }
    return Int64(st.st_size)
  }

  /// Reads the whole file into memory, straight into the array's storage: no zero-filled staging
  /// buffer (64 KiB of fresh pages cost ~40 µs to fault in on every call). Regular files are read at their
  /// size in one call; /proc and /sys files, which report 0, in a 4 KiB buffer that doubles as needed.
  public func readAll() throws -> [UInt8] {
    var st = stat()
    var capacity = fstat(raw, &st) == 0 && st.st_size > 0 ? Int(st.st_size) + 1 : 4096
    var out: [UInt8] = []
    while true {
      let previous = out
      var atEnd = false
      out = try [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
        count = buffer.initialize(fromContentsOf: previous)
        while count < buffer.count {
          let n = try read(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[count...])))
          if n == 0 {
            atEnd = true
            return
          }
          count += n
        }
      }
      if atEnd { return out }
      capacity *= 2
    }
  }
}

/// A descriptor many holders share for as long as any of them needs it (a store's open pack files, handed
/// to concurrent readers); closed when the last reference goes.
public final class SharedDescriptor: Sendable {
  public let fd: FileDescriptor
  public init(_ fd: consuming FileDescriptor) { self.fd = fd }
}
