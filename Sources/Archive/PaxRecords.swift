/// PAX extended-header records ("LEN key=value\n"), the way modern writers carry everything ustar cannot:
/// long paths, big ids and sizes, sub-second times and extended attributes. Values stay raw bytes because
/// xattr values are binary.
struct PaxRecords {
  private(set) var values: [String: [UInt8]] = [:]
  /// The bytes held, so that a run of extended headers cannot grow without bound.
  private(set) var byteCount = 0

  var isEmpty: Bool { values.isEmpty }

  /// Parses one extended header's payload. Trailing NUL padding, which a few writers leave, is ignored.
  static func parse(_ data: [UInt8], entry: String?) throws -> [(key: String, value: [UInt8])] {
    func malformed(_ why: String) -> ArchiveError { ArchiveError(entry: entry, reason: "malformed PAX header: \(why)") }
    var records: [(key: String, value: [UInt8])] = []
    var pos = 0
    while pos < data.count {
      if data[pos] == 0 && data[pos...].allSatisfy({ $0 == 0 }) { break }
      var length = 0
      var i = pos
      while i < data.count, data[i] >= 0x30, data[i] <= 0x39 {
        length = length * 10 + Int(data[i] - 0x30)
        if length > data.count { throw malformed("record length exceeds the header") }
        i += 1
      }
      guard i > pos, i < data.count, data[i] == 0x20 else { throw malformed("record length is not a number") }
      let end = pos + length
      guard length > i - pos + 1, end <= data.count, data[end - 1] == 0x0a else {
        throw malformed("record length \(length) does not match the record")
      }
      let body = data[(i + 1)..<(end - 1)]
      guard let equals = body.firstIndex(of: 0x3d) else { throw malformed("record without '='") }
      guard equals > body.startIndex, let key = String(validating: body[..<equals], as: UTF8.self) else {
        throw malformed("empty or non-UTF-8 key")
      }
      records.append((key, Array(body[(equals + 1)...])))
      pos = end
    }
    return records
  }

  /// Adds records from an 'x' header (empty values kept: they cancel a global value) or a 'g' header
  /// (empty values delete the global keyword).
  mutating func merge(_ records: [(key: String, value: [UInt8])], global: Bool, entry: String?) throws {
    for (key, value) in records {
      if let old = values[key] { byteCount -= key.utf8.count + old.count }
      if global && value.isEmpty && !key.hasPrefix("SCHILY.xattr.") && !key.hasPrefix("LIBARCHIVE.xattr.") {
        values[key] = nil
        continue
      }
      values[key] = value
      byteCount += key.utf8.count + value.count
    }
    if Int64(byteCount) > TarField.maxMetadata {
      throw ArchiveError(entry: entry, reason: "PAX header: extended records exceed the 1 MiB limit")
    }
  }
}

/// The records in force for one entry: the entry's own ('x') over the archive's global ones ('g').
struct PaxView {
  let local: PaxRecords
  let global: PaxRecords
  let entry: String?

  var isEmpty: Bool { local.isEmpty && global.isEmpty }

  /// A keyword's value; an empty local value cancels the global one and means "use the header field".
  subscript(key: String) -> [UInt8]? {
    if let v = local.values[key] { return v.isEmpty ? nil : v }
    return global.values[key]
  }

  func string(_ key: String, what: String) throws -> String? {
    guard let v = self[key] else { return nil }
    return try TarField.utf8(v, what: what, entry: entry)
  }

  /// A non-negative decimal value no larger than `max`.
  func integer(_ key: String, max: Int64) throws -> Int64? {
    guard let v = self[key] else { return nil }
    guard let n = PaxView.decimal(v[...]), n <= max else {
      throw ArchiveError(
        entry: entry, reason: "PAX header: invalid \(key) value \"\(String(decoding: v, as: UTF8.self))\"")
    }
    return n
  }

  /// `mtime` as seconds and nanoseconds: "-?digits[.digits]", fractions beyond nanoseconds truncated.
  func time(_ key: String) throws -> (seconds: Int64, nanoseconds: UInt32)? {
    guard let v = self[key] else { return nil }
    let invalid = ArchiveError(
      entry: entry, reason: "PAX header: invalid \(key) value \"\(String(decoding: v, as: UTF8.self))\"")
    let negative = v.first == 0x2d
    let body = negative ? v.dropFirst() : v[...]
    let dot = body.firstIndex(of: 0x2e) ?? body.endIndex
    guard let whole = PaxView.decimal(body[..<dot]) else { throw invalid }
    var nanos: Int64 = 0
    if dot < body.endIndex {
      let fraction = body[(dot + 1)...]
      guard fraction.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw invalid }
      var digits = 0
      for d in fraction.prefix(9) {
        nanos = nanos * 10 + Int64(d - 0x30)
        digits += 1
      }
      while digits < 9 {
        nanos *= 10
        digits += 1
      }
    }
    if !negative { return (whole, UInt32(nanos)) }
    if nanos == 0 { return (-whole, 0) }
    return (-whole - 1, UInt32(1_000_000_000 - nanos))
  }

  /// Extended attributes: SCHILY.xattr.NAME (raw value) and LIBARCHIVE.xattr.NAME (URL-encoded name, base64
  /// value); where both name the same attribute the SCHILY one wins. Sorted by name bytes.
  func xattrs() throws -> [(name: String, value: [UInt8])] {
    var found: [String: [UInt8]] = [:]
    var keys = Set(local.values.keys)
    keys.formUnion(global.values.keys)
    for key in keys.sorted() where key.hasPrefix("LIBARCHIVE.xattr.") {
      let encoded = key.dropFirst("LIBARCHIVE.xattr.".count)
      let value = local.values[key] ?? global.values[key]!
      guard let nameBytes = PaxView.urlDecode(Array(encoded.utf8)),
        let name = String(validating: nameBytes, as: UTF8.self)
      else { throw ArchiveError(entry: entry, reason: "PAX header: invalid xattr name in \(key)") }
      guard let decoded = PaxView.base64(value) else {
        throw ArchiveError(entry: entry, reason: "PAX header: invalid base64 value for \(key)")
      }
      found[name] = decoded
    }
    for key in keys where key.hasPrefix("SCHILY.xattr.") {
      found[String(key.dropFirst("SCHILY.xattr.".count))] = local.values[key] ?? global.values[key]!
    }
    for name in found.keys where name.isEmpty || name.utf8.contains(0) {
      throw ArchiveError(entry: entry, reason: "PAX header: invalid xattr name \"\(name)\"")
    }
    return found.map { (name: $0.key, value: $0.value) }.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
  }

  /// Whether any keyword starts with `prefix` (GNU.sparse.* marks a sparse file).
  func hasKey(prefix: String) -> Bool {
    local.values.keys.contains { $0.hasPrefix(prefix) } || global.values.keys.contains { $0.hasPrefix(prefix) }
  }

  static func decimal(_ digits: ArraySlice<UInt8>) -> Int64? {
    if digits.isEmpty || digits.count > 18 { return nil }
    var n: Int64 = 0
    for d in digits {
      guard d >= 0x30 && d <= 0x39 else { return nil }
      n = n * 10 + Int64(d - 0x30)
    }
    return n
  }

  static func urlDecode(_ bytes: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
      if bytes[i] == 0x25 {
        guard i + 2 < bytes.count, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) else { return nil }
        out.append(hi << 4 | lo)
        i += 3
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return out
  }

  static func hex(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x41...0x46: c - 0x41 + 10
    case 0x61...0x66: c - 0x61 + 10
    default: nil
    }
  }

  /// Standard-alphabet base64, with or without '=' padding (libarchive writes none).
  static func base64(_ text: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(text.count * 3 / 4)
    var acc: UInt32 = 0
    var bits = 0
    var padded = false
    for c in text {
      let v: UInt32
      switch c {
      case 0x41...0x5a: v = UInt32(c - 0x41)
      case 0x61...0x7a: v = UInt32(c - 0x61 + 26)
      case 0x30...0x39: v = UInt32(c - 0x30 + 52)
      case 0x2b: v = 62
      case 0x2f: v = 63
      case 0x3d:
        padded = true
        continue
      default: return nil
      }
      if padded { return nil }
      acc = acc << 6 | v
      bits += 6
      if bits >= 8 {
        bits -= 8
        out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
      }
    }
    return bits >= 6 ? nil : out
  }
}
