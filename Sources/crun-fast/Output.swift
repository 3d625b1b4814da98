import Glibc
import LinuxSystem
import Runtime

/// stdout/stderr without print's dynamic casts, and the one error line every failure ends in, also
/// appended to --log in the chosen format so that a caller like containerd can read it.
enum Output {
  static func write(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buffer in
      var done = 0
      while done < buffer.count {
        let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
        if n <= 0 { break }
        done += n
      }
    }
  }

  static func fail(_ globals: Globals, _ error: Error) -> Never {
    report(globals, level: "error", "\(error)")
    exit(1)
  }

  /// One line on stderr, `crun-fast VERB: [LEVEL: ]message`, also appended to --log in its format.
  static func report(_ globals: Globals, level: String, _ message: String) {
    let prefix = "crun-fast\(globals.verb.isEmpty ? "" : " " + globals.verb): "
    write(2, prefix + (level == "error" ? "" : level + ": ") + message + "\n")
    if let log = globals.log {
      if let file = try? FileDescriptor.open(log, O_WRONLY | O_CREAT | O_APPEND) {
        let fd = file.raw
        let time = isoTime()
        let line =
          globals.logFormat == "json"
          ? "{\"level\":\"\(level)\",\"msg\":\(jsonQuoted(message)),\"time\":\"\(time)\"}\n"
          : "time=\"\(time)\" level=\(level) msg=\(jsonQuoted(message))\n"
        write(fd, line)
      }
    }
  }

  private static func isoTime() -> String {
    var now = time(nil)
    var parts = tm()
    gmtime_r(&now, &parts)
    var buffer = [CChar](repeating: 0, count: 32)
    let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
