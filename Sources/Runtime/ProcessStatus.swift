import LinuxSystem

/// What /proc says about a container's init: the state letter and the start time (clock ticks after
/// boot, field 22 of /proc/PID/stat), which together tell a live process from a zombie waiting for a slow
/// reaper and from an unrelated process that got the same pid later.
public enum ProcessStatus: Equatable, Sendable {
  case alive
  case zombie
  case gone

  public static func of(pid: Int32, startTime: UInt64) -> ProcessStatus {
    guard let stat = ProcessStat.read(pid), stat.startTime == startTime else { return .gone }
    return stat.exited ? .zombie : .alive
  }
}
