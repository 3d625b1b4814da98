import Glibc

/// An errno value with its symbolic name, so that printed errors read like `ENOENT (No such file or directory)`.
public struct Errno: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
  public let rawValue: Int32
  public init(_ rawValue: Int32) { self.rawValue = rawValue }

  /// The calling thread's errno, read right after a failed call.
  public static var current: Errno { Errno(errno) }

  public static let ENOENT = Errno(Glibc.ENOENT)
  public static let EEXIST = Errno(Glibc.EEXIST)
  public static let EINTR = Errno(Glibc.EINTR)
  public static let ENODATA = Errno(Glibc.ENODATA)
  public static let ENOTSUP = Errno(Glibc.EOPNOTSUPP)
  public static let EINVAL = Errno(Glibc.EINVAL)
  public static let EIO = Errno(Glibc.EIO)
  public static let EAGAIN = Errno(Glibc.EAGAIN)
  public static let ESRCH = Errno(Glibc.ESRCH)
  public static let ECHILD = Errno(Glibc.ECHILD)

  /// EINTR or EAGAIN: the call may simply be made again.
  public var isTransient: Bool { self == .EINTR || self == .EAGAIN || rawValue == EWOULDBLOCK }

  public var name: String {
    switch rawValue {
    case Glibc.EPERM: "EPERM"
    case Glibc.ENOENT: "ENOENT"
    case Glibc.EINTR: "EINTR"
    case Glibc.EIO: "EIO"
    case Glibc.EBADF: "EBADF"
    case Glibc.EAGAIN: "EAGAIN"
    case Glibc.ENOMEM: "ENOMEM"
    case Glibc.EACCES: "EACCES"
    case Glibc.EBUSY: "EBUSY"
    case Glibc.EEXIST: "EEXIST"
    case Glibc.EXDEV: "EXDEV"
    case Glibc.ENODEV: "ENODEV"
    case Glibc.ENOTDIR: "ENOTDIR"
    case Glibc.EISDIR: "EISDIR"
    case Glibc.EINVAL: "EINVAL"
    case Glibc.ENOSPC: "ENOSPC"
    case Glibc.EROFS: "EROFS"
    case Glibc.ERANGE: "ERANGE"
    case Glibc.ENAMETOOLONG: "ENAMETOOLONG"
    case Glibc.ENOTEMPTY: "ENOTEMPTY"
    case Glibc.ELOOP: "ELOOP"
    case Glibc.ENODATA: "ENODATA"
    case Glibc.EOPNOTSUPP: "EOPNOTSUPP"
    case Glibc.ESRCH: "ESRCH"
    case Glibc.ECHILD: "ECHILD"
    case Glibc.EFAULT: "EFAULT"
    case Glibc.EMFILE: "EMFILE"
    case Glibc.ENOSYS: "ENOSYS"
    case Glibc.ETIMEDOUT: "ETIMEDOUT"
    case Glibc.ECONNREFUSED: "ECONNREFUSED"
    default: "errno \(rawValue)"
    }
  }

  public var description: String { "\(name) (\(String(cString: strerror(rawValue))))" }
}

/// A failed system call: which call, on which path, and the errno it returned.
/// Printed: `open("/var/lib/lazyfs/packs/x"): ENOENT (No such file or directory)`.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
  public let call: String
  public let path: String?
  public let errno: Errno

  public init(_ call: String, path: String? = nil, errno: Errno = .current) {
    self.call = call
    self.path = path
    self.errno = errno
  }

  public var description: String {
    if let path { return "\(call)(\"\(path)\"): \(errno)" }
    return "\(call): \(errno)"
  }
}

/// Runs a system call, retrying while it fails with EINTR; -1 becomes a thrown `SystemError`.
@inline(__always)
public func syscall<T: BinaryInteger>(
  _ name: String, path: String? = nil, _ body: () -> T
) throws -> T {
  while true {
    let r = body()
    if r != -1 { return r }
    let e = Errno.current
    if e == .EINTR { continue }
    throw SystemError(name, path: path, errno: e)
  }
}
