/// Signal names as runc's kill accepts them: `TERM`, `SIGTERM`, `sigterm` or a number.
public enum Signals {
  static let numbers: [String: Int32] = [
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
    "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
    "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25,
    "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
  ]

  public static func parse(_ text: String) throws(RuntimeError) -> Int32 {
    if let number = Int32(text) {
      guard number > 0, number < 65 else { throw RuntimeError("invalid signal number \(text)") }
      return number
    }
    var name = text.uppercased()
    if name.hasPrefix("SIG") { name.removeFirst(3) }
    if name.hasPrefix("RTMIN+"), let n = Int32(name.dropFirst(6)), n >= 0, n <= 30 { return 34 + n }
    guard let number = numbers[name] else { throw RuntimeError("unknown signal \"\(text)\"") }
    return number
  }
}
