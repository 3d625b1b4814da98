import Logging

/// The runtime's log messages (warnings such as a failed poststop hook) as crun-fast prints errors: one
/// line on stderr and, with --log, one in the log file in its format. Debug and info only with --debug.
struct OutputLogHandler: LogHandler {
  let globals: Globals
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level

  init(_ globals: Globals) {
    self.globals = globals
    logLevel = globals.debug ? .debug : .warning
  }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    let level =
      switch event.level {
      case .trace, .debug: "debug"
      case .info, .notice: "info"
      case .warning: "warning"
      case .error, .critical: "error"
      }
    Output.report(globals, level: level, "\(event.message)")
  }
}
