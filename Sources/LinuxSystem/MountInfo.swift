/// The mounts of this process's mount namespace, from /proc/self/mountinfo: one reader for the runtime
/// (which of a lazy root's mounts are still there), the cgroup v1 code (where each hierarchy is) and lazyfs
/// (which mount is its own, by device number). Parsed as bytes: it runs on every container start.
public enum MountInfo {
  /// One mountinfo line: "36 25 0:33 / /sys/fs/cgroup/devices rw,relatime shared:16 - cgroup cgroup rw,devices".
  public struct Entry: Sendable, Equatable {
    /// `major:minor` of the mounted file system.
    public var device: String
    /// Where it is mounted, with mountinfo's octal escapes (`\040` for a space) undone.
    public var mountPoint: String
    public var type: String
    public var source: String
    /// The file system's own options (for cgroup v1, its controllers).
    public var superOptions: String
  }

  /// Every mount, in mount order, or only those of file system type `type`, whose other lines are skipped
  /// without being decoded (a node running many containers has hundreds of overlay mounts, and the cgroup
  /// v1 code needs only its few); none when mountinfo cannot be read.
  public static func entries(type: String? = nil) -> [Entry] {
    guard let bytes = try? Files.read("/proc/self/mountinfo") else { return [] }
    return parse(bytes, type: type)
  }

  public static func parse(_ bytes: [UInt8], type: String? = nil) -> [Entry] {
    let wanted = type.map { Array($0.utf8) }
    return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
      let fields = line.split(separator: UInt8(ascii: " "))
      // Optional fields (shared:N, master:N) end at "-"; the type, source and options follow it.
      guard let dash = fields.firstIndex(where: { $0.elementsEqual([UInt8(ascii: "-")]) }), dash >= 5,
        fields.count >= dash + 3
      else { return nil }
      if let wanted, !fields[dash + 1].elementsEqual(wanted) { return nil }
      func text(_ index: Int) -> String { String(decoding: fields[index], as: UTF8.self) }
      return Entry(
        device: text(2), mountPoint: unescape(fields[4]), type: text(dash + 1), source: unescape(fields[dash + 2]),
        superOptions: fields.count > dash + 3 ? text(dash + 3) : "")
    }
  }

  /// Every mount point, in mount order.
  public static func mountPoints() -> [String] { entries().map(\.mountPoint) }

  /// Mount points at or below `directory`.
  public static func mounts(under directory: String) -> [String] {
    mountPoints().filter { $0 == directory || $0.hasPrefix(directory + "/") }
  }

  static func unescape(_ field: ArraySlice<UInt8>) -> String {
    var out: [UInt8] = []
    var i = field.startIndex
    while i < field.endIndex {
      if field[i] == UInt8(ascii: "\\"), i + 3 < field.endIndex,
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
