import Foundation
import Glibc
import LinuxSystem
import Testing

/// How a test's mount gets its requests from the kernel: as this machine is configured (here /dev/fuse),
/// or over io_uring (Linux 6.14+), switched on for that mount only.
public enum Transport: String, Sendable, CustomTestStringConvertible {
  case asConfigured = "as configured"
  case ioUring = "io_uring"
  public var testDescription: String { rawValue }
  /// Both, where this kernel has FUSE over io_uring.
  public static var available: [Transport] {
    Files.exists(UringSwitch.path) ? [.asConfigured, .ioUring] : [.asConfigured]
  }
}

/// The kernel's switch for FUSE over io_uring. The kernel reads it only at a connection's INIT, so it is
/// turned on just while a test mounts, one mount at a time, and put back as it was.
public enum UringSwitch {
  public static let path = "/sys/module/fuse/parameters/enable_uring"
  private static let lock = NSLock()

  public static func on<T>(_ body: () throws -> T) throws -> T {
    lock.lock()
    defer { lock.unlock() }
    let old = try Files.read(path)
    try set(Array("Y\n".utf8))
    defer { try? set(old) }
    return try body()
  }

  private static func set(_ value: [UInt8]) throws {
    let fd = try FileDescriptor.open(path, O_WRONLY)
    try fd.write(value)
  }
}
