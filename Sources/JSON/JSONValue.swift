/// A parsed JSON document (RFC 8259).
///
/// crun-fast reads config.json and state.json into this, and lazyfs OCI image JSON and its statistics,
/// and both map it onto their structs by hand (see
/// `JSONFields`) instead of through Codable: JSONDecoder's keyed containers make the Swift runtime
/// instantiate generic metadata and look up conformances by mangled name, which cost about 1 ms of every
/// ~9 ms `run`. With a plain enum and hand-written mapping, `Spec.decode` fell from 14% of `run`'s
/// samples to 3%, most of what is left first-touch page faults and `validate()`.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(JSONNumber)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  /// How the value reads in an error message: "a string", "an object", "null", "true".
  public var kind: String {
    switch self {
    case .null: "null"
    case .bool(let value): value ? "true" : "false"
    case .number(let number): number.text
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }
}

/// A JSON number, kept as its literal text: every integer from Int64.min to UInt64.max then converts
/// exactly, which a Double (53 bits) would not guarantee for rlimits and seccomp argument values.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
  /// The literal as it appeared, already checked against the RFC 8259 grammar.
  public let text: String

  /// Only the parser, which has checked the grammar, makes numbers from text.
  init(validated text: String) { self.text = text }

  public init(_ value: Int64) { text = String(value) }
  public init(_ value: UInt64) { text = String(value) }

  public var description: String { text }

  /// The value when it is a whole number whose magnitude fits in a UInt64, as sign and magnitude. Written
  /// with a fraction or an exponent (`1.0`, `2e3`) counts when the value is whole; -0 is 0.
  public var integer: (negative: Bool, magnitude: UInt64)? {
    var digits: [UInt8] = []
    var negative = false
    var fractionDigits = 0
    var exponent = 0
    var exponentNegative = false
    var part = 0  // 0: integer part, 1: fraction, 2: exponent
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "-") where part == 0: negative = true
      case UInt8(ascii: "-"): exponentNegative = true
      case UInt8(ascii: "."): part = 1
      case UInt8(ascii: "e"), UInt8(ascii: "E"): part = 2
      case UInt8(ascii: "0")...UInt8(ascii: "9"):
        if part == 2 {
          // Saturates: any exponent past this is out of range (or, for a zero mantissa, still zero).
          exponent = min(exponent * 10 + Int(byte - UInt8(ascii: "0")), 100_000)
        } else {
          digits.append(byte)
          if part == 1 { fractionDigits += 1 }
        }
      default: break
      }
    }
    // value = digits × 10^scale; digits dropped from the right must be zeros for the value to be whole.
    var scale = (exponentNegative ? -exponent : exponent) - fractionDigits
    while scale < 0, let last = digits.last {
      guard last == UInt8(ascii: "0") else { return nil }
      digits.removeLast()
      scale += 1
    }
    var magnitude: UInt64 = 0
    for digit in digits {
      let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
      let (sum, o2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
      if o1 || o2 { return nil }
      magnitude = sum
    }
    if magnitude == 0 { return (false, 0) }
    for _ in 0..<max(scale, 0) {
      let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
      if overflow { return nil }
      magnitude = times10
    }
    return (negative, magnitude)
  }
}

/// A JSON object: its members in document order. Look-ups scan, which for the handful of keys an OCI
/// object has is as fast as hashing.
public struct JSONObject: Sendable, Equatable {
  public struct Member: Sendable, Equatable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
      self.key = key
      self.value = value
    }
  }

  public var members: [Member]

  public init(_ members: [Member] = []) { self.members = members }

  /// The value of the first member named `key`. RFC 8259 leaves duplicate names to the parser; the first
  /// wins, as with the JSONDecoder config.json used to be read with.
  public subscript(key: String) -> JSONValue? {
    members.first { $0.key == key }?.value
  }

  /// Appends a member, or nothing for nil: an absent optional field is left out, as Codable does.
  public mutating func append(_ key: String, _ value: JSONValue?) {
    if let value { members.append(Member(key, value)) }
  }
}

extension JSONValue {
  /// An array of strings.
  public static func strings(_ strings: [String]) -> JSONValue { .array(strings.map(JSONValue.string)) }

  /// Compact JSON text (no whitespace, members in order, "/" unescaped), as state.json is stored.
  public func encoded() -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(512)
    write(to: &out, indent: nil)
    return out
  }

  /// Indented JSON text, as JSONEncoder's `.prettyPrinted` writes it and `crun-fast state` has always
  /// printed it (tests and scripts match `"pid" : 1`): two spaces a level, `" : "` between a name and its
  /// value, an empty array or object as `[\n\n]`. Members stay in order; "/" is not escaped.
  public func prettyEncoded() -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(1024)
    write(to: &out, indent: 0)
    return out
  }

  /// `indent` is the nesting level when pretty-printing, nil for compact text.
  private func write(to out: inout [UInt8], indent: Int?) {
    let inner = indent.map { $0 + 1 }
    switch self {
    case .null: out += "null".utf8
    case .bool(let value): out += (value ? "true" : "false").utf8
    case .number(let number): out += number.text.utf8
    case .string(let string): Self.write(string, to: &out)
    case .array(let items):
      Self.open(UInt8(ascii: "["), indent: indent, to: &out)
      for (i, item) in items.enumerated() {
        Self.separate(first: i == 0, indent: inner, to: &out)
        item.write(to: &out, indent: inner)
      }
      Self.close(UInt8(ascii: "]"), indent: indent, to: &out)
    case .object(let object):
      Self.open(UInt8(ascii: "{"), indent: indent, to: &out)
      for (i, member) in object.members.enumerated() {
        Self.separate(first: i == 0, indent: inner, to: &out)
        Self.write(member.key, to: &out)
        if indent == nil {
          out.append(UInt8(ascii: ":"))
        } else {
          out += " : ".utf8
        }
        member.value.write(to: &out, indent: inner)
      }
      Self.close(UInt8(ascii: "}"), indent: indent, to: &out)
    }
  }

  /// A bracket, and when pretty-printing the line break JSONEncoder puts after it even with nothing inside.
  private static func open(_ bracket: UInt8, indent: Int?, to out: inout [UInt8]) {
    out.append(bracket)
    if indent != nil { out.append(UInt8(ascii: "\n")) }
  }

  /// Before each element: a comma after the first, and when pretty-printing a new line indented one level in.
  private static func separate(first: Bool, indent: Int?, to out: inout [UInt8]) {
    if !first {
      out.append(UInt8(ascii: ","))
      if indent != nil { out.append(UInt8(ascii: "\n")) }
    }
    if let indent { out += repeatElement(UInt8(ascii: " "), count: 2 * indent) }
  }

  private static func close(_ bracket: UInt8, indent: Int?, to out: inout [UInt8]) {
    if let indent {
      out.append(UInt8(ascii: "\n"))
      out += repeatElement(UInt8(ascii: " "), count: 2 * indent)
    }
    out.append(bracket)
  }

  /// A string literal: quote, backslash and control characters escaped, everything else as UTF-8. Runs
  /// between escapes are copied whole; most strings have none.
  private static func write(_ string: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    var string = string
    string.withUTF8 { bytes in
      var start = 0
      for (i, byte) in bytes.enumerated() {
        guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
        start = i + 1
        switch byte {
        case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
        case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        default:
          let low = byte & 15
          out += [
            UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, 0x30 + (byte >> 4), low < 10 ? 0x30 + low : 0x57 + low,
          ]
        }
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
    }
    out.append(UInt8(ascii: "\""))
  }
}
