import LinuxSystem

/// The mount points of this process's mount namespace, from /proc/self/mountinfo: what tells a lazy
/// root's teardown which of its mounts are still there.
enum MountInfo {
  /// Every mount point, in mount order, with mountinfo's octal escapes (`\040` for a space) undone.
  static func mountPoints() -> [String] {
    guard let bytes = try? Files.read("/proc/self/mountinfo") else { return [] }
    return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
      let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 5)
      return fields.count > 4 ? unescape(Array(fields[4])) : nil
    }
  }

  static func isMountPoint(_ path: String) -> Bool { mountPoints().contains(path) }

  /// Mount points at or below `directory`.
  static func mounts(under directory: String) -> [String] {
    mountPoints().filter { $0 == directory || $0.hasPrefix(directory + "/") }
  }

  private static func unescape(_ field: [UInt8]) -> String {
    var out: [UInt8] = []
    var i = 0
    while i < field.count {
      if field[i] == UInt8(ascii: "\\"), i + 3 < field.count,
        let value = UInt8(String(decoding: field[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
      {
        out.append(value)
        i += 4
      } else {
        out.append(field[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
