/// What /proc/PID/stat says of a process that the runtime and the mount daemon need: its command name,
/// state letter, parent and start time (clock ticks after boot, which tell it from a later process that
/// got the same pid).
public struct ProcessStat: Sendable, Equatable {
  public var name: String
  public var state: Character
  public var parent: Int32
  public var startTime: UInt64

  /// Whether it has exited: a zombie (only its parent can reap it) or being reaped.
  public var exited: Bool { state == "Z" || state == "X" }

  /// The stat of `pid`, or nil when there is no such process.
  public static func read(_ pid: Int32) -> ProcessStat? {
    guard pid > 0, let bytes = try? Files.read("/proc/\(pid)/stat") else { return nil }
    return parse(bytes)
  }

  /// "pid (comm) S ppid … starttime …": comm may hold spaces and parentheses, so the fields are split
  /// after its last ')'; starttime is field 22, the 20th after comm.
  static func parse(_ bytes: [UInt8]) -> ProcessStat? {
    guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")),
      open < close
    else { return nil }
    let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
    guard fields.count > 19, let state = fields[fields.startIndex].first,
      let parent = Int32(String(decoding: fields[fields.startIndex + 1], as: UTF8.self)),
      let start = UInt64(String(decoding: fields[fields.startIndex + 19], as: UTF8.self))
    else { return nil }
    return ProcessStat(
      name: String(decoding: bytes[(open + 1)..<close], as: UTF8.self), state: Character(UnicodeScalar(state)),
      parent: parent, startTime: start)
  }
}
