// String literals for JSONParser. Strings without escapes, the common case, become Strings straight
// from the buffer; others are unescaped into a scratch array first.

extension JSONParser {
  /// A string literal from its opening quote. Control characters must be escaped; the result must be UTF-8.
  mutating func string() throws(JSONError) -> String {
    index += 1
    let start = index
    while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
      guard bytes[index] >= 0x20 else { throw error("unescaped control character in a string") }
      index += 1
    }
    guard index < bytes.count else { throw error("unterminated string") }
    if bytes[index] == UInt8(ascii: "\"") {
      index += 1
      return try utf8(UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), at: start)
    }
    var scratch = Array(bytes[start..<index])
    while true {
      guard index < bytes.count else { throw error("unterminated string") }
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "\""):
        index += 1
        return try scratch.withUnsafeBufferPointer { buffer throws(JSONError) in try utf8(buffer, at: start) }
      case UInt8(ascii: "\\"): try escape(into: &scratch)
      case 0..<0x20: throw error("unescaped control character in a string")
      default:
        scratch.append(byte)
        index += 1
      }
    }
  }

  /// One escape sequence from its backslash, appended as UTF-8. \u escapes of UTF-16 surrogates must
  /// come as a high-low pair; a lone half is not a character.
  mutating func escape(into out: inout [UInt8]) throws(JSONError) {
    index += 1
    guard index < bytes.count else { throw error("unterminated string") }
    let simple: UInt8? =
      switch bytes[index] {
      case UInt8(ascii: "\""): UInt8(ascii: "\"")
      case UInt8(ascii: "\\"): UInt8(ascii: "\\")
      case UInt8(ascii: "/"): UInt8(ascii: "/")
      case UInt8(ascii: "b"): 0x08
      case UInt8(ascii: "f"): 0x0C
      case UInt8(ascii: "n"): 0x0A
      case UInt8(ascii: "r"): 0x0D
      case UInt8(ascii: "t"): 0x09
      default: nil
      }
    if let simple {
      out.append(simple)
      index += 1
      return
    }
    guard bytes[index] == UInt8(ascii: "u") else { throw error("invalid escape \\\(describe(bytes[index]))") }
    let escapeStart = index - 1
    var scalar = UInt32(try hex4())
    if (0xDC00...0xDFFF).contains(scalar) {
      index = escapeStart
      throw error("unpaired UTF-16 low surrogate")
    }
    if (0xD800...0xDBFF).contains(scalar) {
      guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
        index = escapeStart
        throw error("unpaired UTF-16 high surrogate")
      }
      index += 1
      let low = UInt32(try hex4())
      guard (0xDC00...0xDFFF).contains(low) else {
        index = escapeStart
        throw error("unpaired UTF-16 high surrogate")
      }
      scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
    }
    // Surrogates are dealt with above, so this is always a scalar.
    if let scalar = Unicode.Scalar(scalar) { UTF8.encode(scalar) { out.append($0) } }
  }

  /// The four hex digits after a "u".
  mutating func hex4() throws(JSONError) -> UInt16 {
    index += 1
    var value: UInt16 = 0
    for _ in 0..<4 {
      let digit: UInt8
      switch peek() {
      case let c? where isDigit(c): digit = c - UInt8(ascii: "0")
      case let c? where (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c): digit = c - UInt8(ascii: "a") + 10
      case let c? where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(c): digit = c - UInt8(ascii: "A") + 10
      default: throw error(expected: "four hex digits after \\u")
      }
      value = value << 4 | UInt16(digit)
      index += 1
    }
    return value
  }

  /// The string, if `buffer` is well-formed UTF-8. Checked here rather than with String(validating:),
  /// whose generic implementation instantiates metadata at run time, the cost this parser exists to avoid.
  func utf8(_ buffer: UnsafeBufferPointer<UInt8>, at start: Int) throws(JSONError) -> String {
    var i = 0
    while i < buffer.count {
      let lead = buffer[i]
      if lead < 0x80 {
        i += 1
        continue
      }
      // Unicode Table 3-7: the allowed range of the second byte rules out overlong forms, surrogates
      // (ED A0..BF) and code points past U+10FFFF.
      let (length, second): (Int, ClosedRange<UInt8>) =
        switch lead {
        case 0xC2...0xDF: (2, 0x80...0xBF)
        case 0xE0: (3, 0xA0...0xBF)
        case 0xED: (3, 0x80...0x9F)
        case 0xE1...0xEF: (3, 0x80...0xBF)
        case 0xF0: (4, 0x90...0xBF)
        case 0xF1...0xF3: (4, 0x80...0xBF)
        case 0xF4: (4, 0x80...0x8F)
        default: (0, 0...0)
        }
      guard length > 0, i + length <= buffer.count, second.contains(buffer[i + 1]),
        length < 3 || buffer[i + 2] & 0xC0 == 0x80, length < 4 || buffer[i + 3] & 0xC0 == 0x80
      else {
        var parser = self
        parser.index = start
        throw parser.error("string is not valid UTF-8")
      }
      i += length
    }
    return String(decoding: buffer, as: UTF8.self)
  }
}
