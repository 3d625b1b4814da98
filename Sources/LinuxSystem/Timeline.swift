import Glibc

/// Timestamps of one command's phases, for the start-time breakdown that `Benchmarks/runtime.sh` reports.
/// Off unless `CRUN_FAST_TIMELINE` names a file; then each `mark` costs one clock_gettime, and `flush`
/// appends one line to the file: `VERB phase=µs …`, each phase's end in microseconds since `begin`.
public enum Timeline {
  private static let path: String? = getenv("CRUN_FAST_TIMELINE").map { String(cString: $0) }
  nonisolated(unsafe) private static var marks: [(name: StaticString, nanoseconds: UInt64)] = []

  public static var enabled: Bool { path != nil }

  /// Starts the timeline; call first thing in `main`.
  public static func begin() {
    guard enabled else { return }
    marks.reserveCapacity(32)
    mark("main")
  }

  /// Records that the phase `name` has just ended.
  @inline(__always)
  public static func mark(_ name: StaticString) {
    guard enabled else { return }
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    marks.append((name, UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)))
  }

  /// Appends the line for `verb` to the timeline file.
  public static func flush(_ verb: String) {
    guard let path, let first = marks.first else { return }
    var line = verb
    for mark in marks.dropFirst() { line += " \(mark.name)=\((mark.nanoseconds - first.nanoseconds) / 1000)" }
    line += "\n"
    guard let fd = try? FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND) else { return }
    try? fd.write(Array(line.utf8))
  }
}
