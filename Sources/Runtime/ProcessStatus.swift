import LinuxSystem

/// What /proc says about a container's init: the state letter and the start time (clock ticks after
/// boot, field 22 of /proc/PID/stat), which together tell a live process from a zombie waiting for a slow
/// reaper and from an unrelated process that got the same pid later.
public enum ProcessStatus: Equatable, Sendable {
  case alive
  case zombie
  case gone

  public static func of(pid: Int32, startTime: UInt64) -> ProcessStatus {
    guard pid > 0, let (state, start) = stat(pid: pid), start == startTime else { return .gone }
    return state == "Z" || state == "X" ? .zombie : .alive
  }

  /// The state letter and start time of `pid`, or nil when there is no such process.
  public static func stat(pid: Int32) -> (state: Character, startTime: UInt64)? {
    guard let bytes = try? Files.read("/proc/\(pid)/stat"),
      let close = bytes.lastIndex(of: UInt8(ascii: ")"))
    else { return nil }
    // The command name in parentheses may contain spaces; the fields after its last ')' do not.
    let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
    guard fields.count > 19, let state = fields.first?.first,
      let start = UInt64(String(decoding: fields[fields.startIndex + 19], as: UTF8.self))
    else { return nil }
    return (Character(UnicodeScalar(state)), start)
  }
}
