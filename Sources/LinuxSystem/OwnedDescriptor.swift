import CLinux
import Glibc

/// A file descriptor this value owns: closed exactly once, when the value goes away, and never copied,
/// only moved (`consume`) or lent (`borrowing`). For the descriptors a function opens and must close on
/// every path (pipes, pidfds, memfds): a `defer { close(fd) }` forgotten on one error path, or run twice
/// on a copied struct, is a leak or a close of someone else's descriptor. `FileDescriptor` stays for the
/// long-lived, shared ones (a store's pack files) whose owner closes them explicitly.
public struct OwnedDescriptor: ~Copyable {
  public let raw: Int32

  /// Takes ownership of `raw`, which must be open.
  public init(adopting raw: Int32) { self.raw = raw }

  deinit { _ = Glibc.close(raw) }

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
    return Pipe(read: OwnedDescriptor(adopting: fds[0]), write: OwnedDescriptor(adopting: fds[1]))
  }

  /// Both ends of a pipe; take them apart with `consume` (`let w = pipe.write`).
  @frozen public struct Pipe: ~Copyable {
    public var read: OwnedDescriptor
    public var write: OwnedDescriptor
  }
}
