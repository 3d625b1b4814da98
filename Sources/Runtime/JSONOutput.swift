import FoundationEssentials

extension OCIState {
  /// Pretty-printed JSON, as `state` prints it and hooks read it.
  public func json(pretty: Bool = true) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }

  /// A JSON array of states, as `list --format json` prints it.
  public static func json(_ states: [OCIState]) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(states)) ?? Data(), as: UTF8.self)
  }
}

/// A string as a JSON string literal, for log lines.
public func jsonQuoted(_ text: String) -> String {
  String(decoding: (try? JSONEncoder().encode(text)) ?? Data(), as: UTF8.self)
}
