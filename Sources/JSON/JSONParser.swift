/// Malformed JSON, with where: the byte offset and, for people, the line and column (both from 1).
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
  public let reason: String
  public let offset: Int
  public let line: Int
  public let column: Int

  public var description: String { "\(reason) at line \(line), column \(column) (byte \(offset))" }
}

extension JSONValue {
  /// Arrays and objects nested deeper than this are refused: the parser recurses, and a hostile
  /// "[[[[…" must not exhaust the stack.
  public static let maximumDepth = 512

  /// Parses one JSON text, strictly: RFC 8259 grammar, UTF-8 only, no trailing garbage. A leading UTF-8
  /// byte order mark is skipped, which the RFC allows.
  public init(parsing bytes: [UInt8]) throws(JSONError) {
    let result = bytes.withUnsafeBufferPointer { buffer in
      Result { () throws(JSONError) in
        var parser = JSONParser(buffer)
        return try parser.document()
      }
    }
    self = try result.get()
  }

  /// As `init(parsing:)`, for bytes that are not in an array (a mapped file).
  public init(parsing bytes: UnsafeRawBufferPointer) throws(JSONError) {
    let result = bytes.withMemoryRebound(to: UInt8.self) { buffer in
      Result { () throws(JSONError) in
        var parser = JSONParser(buffer)
        return try parser.document()
      }
    }
    self = try result.get()
  }
}

/// A recursive-descent parser over a byte buffer; string literals are in JSONStrings.swift.
struct JSONParser {
  let bytes: UnsafeBufferPointer<UInt8>
  var index = 0
  var depth = 0

  init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  mutating func document() throws(JSONError) -> JSONValue {
    if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    let value = try self.value()
    skipWhitespace()
    if index < bytes.count { throw error("unexpected \(describe(bytes[index])) after the document") }
    return value
  }

  mutating func value() throws(JSONError) -> JSONValue {
    skipWhitespace()
    guard index < bytes.count else { throw error("unexpected end of input") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try object()
    case UInt8(ascii: "["): return try array()
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try literal("true", .bool(true))
    case UInt8(ascii: "f"): return try literal("false", .bool(false))
    case UInt8(ascii: "n"): return try literal("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    case let byte: throw error("unexpected \(describe(byte))")
    }
  }

  mutating func object() throws(JSONError) -> JSONValue {
    try enter()
    var object = JSONObject()
    // OCI objects mostly have a handful of members; starting at 8 saves the first few regrowths.
    object.members.reserveCapacity(8)
    skipWhitespace()
    if peek() == UInt8(ascii: "}") {
      index += 1
      depth -= 1
      return .object(object)
    }
    while true {
      skipWhitespace()
      guard peek() == UInt8(ascii: "\"") else { throw error(expected: "a string key") }
      let key = try string()
      skipWhitespace()
      guard peek() == UInt8(ascii: ":") else { throw error(expected: "':'") }
      index += 1
      object.members.append(JSONObject.Member(key, try value()))
      skipWhitespace()
      switch peek() {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "}"):
        index += 1
        depth -= 1
        return .object(object)
      default: throw error(expected: "',' or '}'")
      }
    }
  }

  mutating func array() throws(JSONError) -> JSONValue {
    try enter()
    var items: [JSONValue] = []
    skipWhitespace()
    if peek() == UInt8(ascii: "]") {
      index += 1
      depth -= 1
      return .array(items)
    }
    while true {
      items.append(try value())
      skipWhitespace()
      switch peek() {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "]"):
        index += 1
        depth -= 1
        return .array(items)
      default: throw error(expected: "',' or ']'")
      }
    }
  }

  /// Steps over the opening bracket, counting the depth.
  mutating func enter() throws(JSONError) {
    depth += 1
    if depth > JSONValue.maximumDepth { throw error("nested deeper than \(JSONValue.maximumDepth) levels") }
    index += 1
  }

  /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, kept as text.
  mutating func number() throws(JSONError) -> JSONValue {
    let start = index
    if peek() == UInt8(ascii: "-") { index += 1 }
    if peek() == UInt8(ascii: "0") {
      index += 1
      if isDigit(peek()) { throw error("leading zero in a number") }
    } else {
      try digits()
    }
    if peek() == UInt8(ascii: ".") {
      index += 1
      try digits()
    }
    if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
      index += 1
      if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
      try digits()
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    return .number(JSONNumber(validated: text))
  }

  /// One or more decimal digits.
  mutating func digits() throws(JSONError) {
    guard isDigit(peek()) else { throw error(expected: "a digit") }
    while isDigit(peek()) { index += 1 }
  }

  mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONError) -> JSONValue {
    let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
    for byte in expected {
      guard peek() == byte else { throw error(expected: "\"\(word)\"") }
      index += 1
    }
    return value
  }

  mutating func skipWhitespace() {
    while index < bytes.count {
      switch bytes[index] {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
      default: return
      }
    }
  }

  func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

  func isDigit(_ byte: UInt8?) -> Bool {
    guard let byte else { return false }
    return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }

  func describe(_ byte: UInt8) -> String {
    (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
  }

  /// "expected X", or "unexpected end of input" when the input stopped instead.
  func error(expected what: String) -> JSONError {
    guard let byte = peek() else { return error("unexpected end of input") }
    return error("expected \(what), found \(describe(byte))")
  }

  /// An error at the current position; the line and column are counted only now, on the way out.
  func error(_ reason: String) -> JSONError {
    var line = 1
    var lineStart = 0
    for i in 0..<min(index, bytes.count) where bytes[i] == UInt8(ascii: "\n") {
      line += 1
      lineStart = i + 1
    }
    return JSONError(reason: reason, offset: index, line: line, column: index - lineStart + 1)
  }
}
