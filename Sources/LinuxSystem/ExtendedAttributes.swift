import CLinux
import Glibc

/// Extended attributes of a path itself (never a symlink's target: the l* calls).
public enum ExtendedAttributes {
  /// Every attribute, sorted by name.
  public static func list(_ path: String) throws -> [(name: String, value: [UInt8])] {
    let size = llistxattr(path, nil, 0)
    if size < 0 {
      if errno == ENOTSUP { return [] }
      throw SystemError("llistxattr", path: path)
    }
    if size == 0 { return [] }
    var names = [CChar](repeating: 0, count: size)
    let n = llistxattr(path, &names, size)
    if n < 0 { throw SystemError("llistxattr", path: path) }
    var out: [(String, [UInt8])] = []
    for raw in names[0..<n].split(separator: 0) {
      let name = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let length = lgetxattr(path, name, nil, 0)
      if length < 0 { throw SystemError("lgetxattr", path: path + " " + name) }
      var value = [UInt8](repeating: 0, count: length)
      let got = lgetxattr(path, name, &value, length)
      if got < 0 { throw SystemError("lgetxattr", path: path + " " + name) }
      out.append((name, Array(value[0..<got])))
    }
    return out.sorted { $0.0 < $1.0 }
  }

  public static func set(_ path: String, _ name: String, _ value: [UInt8]) throws {
    let rc = value.withUnsafeBytes { lsetxattr(path, name, $0.baseAddress, $0.count, 0) }
    if rc != 0 { throw SystemError("lsetxattr", path: path + " " + name) }
  }
}

/// Device numbers, encoded as glibc encodes them in `st_rdev`.
public enum DeviceNumber {
  public static func major(_ dev: UInt64) -> UInt32 { cl_major(dev_t(dev)) }
  public static func minor(_ dev: UInt64) -> UInt32 { cl_minor(dev_t(dev)) }
  public static func make(_ major: UInt32, _ minor: UInt32) -> UInt64 { UInt64(cl_makedev(major, minor)) }
}
