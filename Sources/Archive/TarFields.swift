/// The ustar header block layout and the decoding of its fields. Every header dialect (v7, ustar, GNU, PAX)
/// shares this 512-byte block; the dialects differ only in what they put in the spare fields and extra entries.
enum TarField {
  static let blockSize = 512
  static let name = 0..<100
  static let mode = 100..<108
  static let uid = 108..<116
  static let gid = 116..<124
  static let size = 124..<136
  static let mtime = 136..<148
  static let checksum = 148..<156
  static let typeflag = 156
  static let linkName = 157..<257
  static let magic = 257..<263
  static let version = 263..<265
  static let devMajor = 329..<337
  static let devMinor = 337..<345
  static let prefix = 345..<500

  /// The largest data size accepted (1 TiB): anything bigger is a corrupt or hostile header, not a layer.
  static let maxSize: Int64 = 1 << 40
  /// The largest PAX or GNU long-name payload read into memory.
  static let maxMetadata: Int64 = 1 << 20

  /// True when the block is all zeros: the end-of-archive marker.
  static func isZero(_ block: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    while i < blockSize {
      if block.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
      i += 8
    }
    return true
  }

  /// The header sums with the checksum field counted as spaces: unsigned, and signed as some old tars computed it.
  static func sums(_ block: UnsafeRawBufferPointer) -> (unsigned: Int, signed: Int) {
    var unsigned = 0
    var signed = 0
    for i in 0..<blockSize where !checksum.contains(i) {
      unsigned &+= Int(block[i])
      signed &+= Int(Int8(bitPattern: block[i]))
    }
    let spaces = 8 * 0x20
    return (unsigned + spaces, signed + spaces)
  }

  /// Whether the checksum field is a number and equals either sum.
  static func checksumMatches(_ block: UnsafeRawBufferPointer) -> Bool {
    guard let stored = try? number(block, checksum, name: "checksum", entry: nil) else { return false }
    let (unsigned, signed) = sums(block)
    return stored == Int64(unsigned) || stored == Int64(signed)
  }

  /// The bytes of a string field up to its first NUL.
  static func string(_ block: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
    let field = UnsafeRawBufferPointer(rebasing: block[range])
    let end = field.firstIndex(of: 0) ?? field.count
    return Array(field[0..<end])
  }

  /// A numeric field: octal (optional leading spaces, digits, then spaces or NULs; all blank is 0),
  /// or GNU base-256 (high bit of the first byte set; two's complement, so negative values are possible).
  static func number(
    _ block: UnsafeRawBufferPointer, _ range: Range<Int>, name: String, entry: String?
  ) throws -> Int64 {
    let field = UnsafeRawBufferPointer(rebasing: block[range])
    let invalid = ArchiveError(entry: entry, reason: "invalid numeric field \(name)")
    let first = field[0]
    if first & 0x80 != 0 {
      var value: Int64 = first & 0x40 != 0 ? -1 : 0
      value = (value << 6) | Int64(first & 0x3f)
      for byte in field.dropFirst() {
        if value > Int64.max >> 8 || value < Int64.min >> 8 { throw invalid }
        value = (value << 8) | Int64(byte)
      }
      return value
    }
    var i = 0
    while i < field.count && field[i] == 0x20 { i += 1 }
    var value: Int64 = 0
    while i < field.count, field[i] >= 0x30, field[i] <= 0x37 {
      value = value << 3 | Int64(field[i] - 0x30)
      i += 1
    }
    while i < field.count {
      if field[i] != 0 && field[i] != 0x20 { throw invalid }
      i += 1
    }
    return value
  }

  /// Writes `value` as zero-padded octal digits and a NUL, or as base-256 when it does not fit.
  static func putNumber(_ value: Int64, _ block: UnsafeMutableRawBufferPointer, _ range: Range<Int>) {
    let digits = range.count - 1
    if value >= 0 && value < Int64(1) << (3 * digits) {
      var v = value
      for i in stride(from: range.lowerBound + digits - 1, through: range.lowerBound, by: -1) {
        block[i] = UInt8(0x30 + v & 7)
        v >>= 3
      }
      block[range.upperBound - 1] = 0
      return
    }
    var v = value
    for i in stride(from: range.upperBound - 1, through: range.lowerBound, by: -1) {
      block[i] = UInt8(truncatingIfNeeded: v)
      v >>= 8
    }
    block[range.lowerBound] = value < 0 ? 0xff : 0x80
  }

  /// Copies `bytes` into a string field; the caller has checked that they fit.
  static func putString(_ bytes: some Collection<UInt8>, _ block: UnsafeMutableRawBufferPointer, _ range: Range<Int>) {
    var i = range.lowerBound
    for byte in bytes.prefix(range.count) {
      block[i] = byte
      i += 1
    }
  }

  /// Decodes UTF-8 or throws "<what> is not valid UTF-8", naming the entry as best it can.
  static func utf8(_ bytes: [UInt8], what: String, entry: String?) throws -> String {
    if let s = String(validating: bytes, as: UTF8.self) { return s }
    throw ArchiveError(entry: entry ?? String(decoding: bytes, as: UTF8.self), reason: "\(what) is not valid UTF-8")
  }
}
