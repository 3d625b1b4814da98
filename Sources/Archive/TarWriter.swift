import LinuxSystem

/// Writes a POSIX.1-2001 (PAX) tar. Whatever ustar cannot hold exactly (paths over its name/prefix fields or not
/// ASCII, long or non-ASCII link names, ids over 2^21-1, sizes of 8 GiB and more, nanosecond or negative mtimes,
/// xattrs as `SCHILY.xattr.NAME` the way GNU tar and libarchive write them) goes in a PAX 'x' header before the
/// entry, and only when needed, so simple entries stay plain ustar that any tool reads.
///
/// Output is gathered in a 64 KiB buffer so that small entries cost few writes; large data goes straight to `fd`.
/// The writer owns `fd` (closed when the writer goes); call `finish()`, and `sync()` where the archive must
/// survive a power cut: nothing is written on deinit.
public final class TarWriter {
  private let fd: FileDescriptor
  private var output: [UInt8] = []
  /// Data bytes the current entry still needs.
  private var expected: Int64 = 0
  /// The current entry's size, for its padding.
  private var entrySize: Int64 = 0
  private var currentPath: String?
  private var finished = false
  private static let flushThreshold = 1 << 16
  /// The largest value an octal field of `digits` digits holds.
  private static func octalMax(_ digits: Int) -> Int64 { (Int64(1) << (3 * digits)) - 1 }

  public init(_ fd: consuming FileDescriptor) {
    self.fd = fd
    output.reserveCapacity(Self.flushThreshold + 4 * TarField.blockSize)
  }

  /// Writes the header(s) for an entry. For a regular file the caller then writes exactly `header.size` bytes
  /// with `write(_:)`; for every other type `size` is ignored and no data follows.
  public func append(_ header: TarHeader) throws {
    try closeEntry()
    let path = header.path
    func fail(_ reason: String) -> ArchiveError { ArchiveError(entry: path, reason: reason) }
    if finished { throw fail("cannot append after finish()") }
    let pathBytes = Array(path.utf8)
    if pathBytes.isEmpty { throw fail("empty path") }
    if pathBytes.contains(0) { throw fail("path contains a NUL byte") }
    if header.mtimeNanoseconds >= 1_000_000_000 { throw fail("mtime nanoseconds out of range") }
    let size = header.type == .regular ? header.size : 0
    if size < 0 || size > TarField.maxSize { throw fail("size \(size) is out of range") }

    var records: [UInt8] = []
    var name = pathBytes
    var prefix: [UInt8] = []
    let ascii = pathBytes.allSatisfy { $0 < 0x80 }
    if !ascii || pathBytes.count > 100 {
      if ascii, let split = Self.ustarSplit(pathBytes) {
        (prefix, name) = split
      } else {
        Self.addRecord("path", pathBytes, to: &records)
        name = Self.truncated(pathBytes, to: 100)
      }
    }
    var link: [UInt8] = []
    if header.type == .symlink || header.type == .hardlink {
      link = Array(header.linkName.utf8)
      if link.contains(0) { throw fail("link name contains a NUL byte") }
      if link.count > 100 || !link.allSatisfy({ $0 < 0x80 }) {
        Self.addRecord("linkpath", link, to: &records)
        link = Self.truncated(link, to: 100)
      }
    }
    var uid = Int64(header.uid)
    var gid = Int64(header.gid)
    if uid > Self.octalMax(7) {
      Self.addRecord("uid", Array(String(uid).utf8), to: &records)
      uid = 0
    }
    if gid > Self.octalMax(7) {
      Self.addRecord("gid", Array(String(gid).utf8), to: &records)
      gid = 0
    }
    var sizeField = size
    if size > Self.octalMax(11) {
      Self.addRecord("size", Array(String(size).utf8), to: &records)
      sizeField = 0
    }
    var mtime = header.mtimeSeconds
    if header.mtimeNanoseconds != 0 || mtime < 0 || mtime > Self.octalMax(11) {
      Self.addRecord("mtime", Self.paxTime(mtime, header.mtimeNanoseconds), to: &records)
      mtime = min(max(mtime, 0), Self.octalMax(11))
    }
    for (xname, value) in header.xattrs {
      if xname.isEmpty || xname.utf8.contains(0) || xname.utf8.contains(0x3d) {
        throw fail("xattr name \"\(xname)\" cannot be stored (empty, or contains '=' or NUL)")
      }
      Self.addRecord("SCHILY.xattr." + xname, value, to: &records)
    }

    if !records.isEmpty {
      if Int64(records.count) > TarField.maxMetadata { throw fail("PAX header over 1 MiB") }
      appendBlock(
        name: Array("././@PaxHeader".utf8), prefix: [], mode: 0o644, uid: 0, gid: 0, size: Int64(records.count),
        mtime: mtime, flag: UInt8(ascii: "x"), link: [], devMajor: 0, devMinor: 0)
      output.append(contentsOf: records)
      pad(Int64(records.count))
    }
    let device = header.type == .characterDevice || header.type == .blockDevice
    appendBlock(
      name: name, prefix: prefix, mode: Int64(header.mode & 0o7777), uid: uid, gid: gid, size: sizeField,
      mtime: mtime, flag: header.type.flag, link: link, devMajor: device ? Int64(header.devMajor) : 0,
      devMinor: device ? Int64(header.devMinor) : 0)
    currentPath = path
    expected = size
    entrySize = size
    if output.count >= Self.flushThreshold { try flush() }
  }

  /// Writes data of the current regular-file entry.
  public func write(_ data: UnsafeRawBufferPointer) throws {
    if Int64(data.count) > expected {
      throw ArchiveError(entry: currentPath, reason: "more data written than the header's size \(entrySize)")
    }
    expected -= Int64(data.count)
    if data.count >= Self.flushThreshold {
      try flush()
      try fd.write(data)
    } else {
      output.append(contentsOf: data)
      if output.count >= Self.flushThreshold { try flush() }
    }
  }

  /// Pads the last entry and writes the end-of-archive marker (two zero blocks).
  /// fsync(2) of the archive written so far (after `finish`, all of it).
  public func sync() throws { try fd.fsync() }

  public func finish() throws {
    try closeEntry()
    if finished { return }
    finished = true
    output.append(contentsOf: repeatElement(0, count: 2 * TarField.blockSize))
    try flush()
  }

  private func closeEntry() throws {
    if expected > 0 {
      throw ArchiveError(entry: currentPath, reason: "\(expected) bytes of data missing (size is \(entrySize))")
    }
    pad(entrySize)
    entrySize = 0
  }

  private func pad(_ size: Int64) {
    let n = Int((512 - size % 512) % 512)
    if n > 0 { output.append(contentsOf: repeatElement(0, count: n)) }
  }

  private func flush() throws {
    if output.isEmpty { return }
    try fd.write(output)
    output.removeAll(keepingCapacity: true)
  }

  private func appendBlock(
    name: [UInt8], prefix: [UInt8], mode: Int64, uid: Int64, gid: Int64, size: Int64, mtime: Int64, flag: UInt8,
    link: [UInt8], devMajor: Int64, devMinor: Int64
  ) {
    var block = [UInt8](repeating: 0, count: TarField.blockSize)
    block.withUnsafeMutableBytes { b in
      TarField.putString(name, b, TarField.name)
      TarField.putNumber(mode, b, TarField.mode)
      TarField.putNumber(uid, b, TarField.uid)
      TarField.putNumber(gid, b, TarField.gid)
      TarField.putNumber(size, b, TarField.size)
      TarField.putNumber(mtime, b, TarField.mtime)
      b[TarField.typeflag] = flag
      TarField.putString(link, b, TarField.linkName)
      TarField.putString("ustar\0".utf8, b, TarField.magic)
      TarField.putString("00".utf8, b, TarField.version)
      TarField.putNumber(devMajor, b, TarField.devMajor)
      TarField.putNumber(devMinor, b, TarField.devMinor)
      TarField.putString(prefix, b, TarField.prefix)
      // Checksum: six octal digits, NUL, space, summed with the field itself as spaces.
      let sum = Int64(TarField.sums(UnsafeRawBufferPointer(b)).unsigned)
      TarField.putNumber(sum, b, TarField.checksum.lowerBound..<(TarField.checksum.upperBound - 1))
      b[TarField.checksum.upperBound - 1] = 0x20
    }
    output.append(contentsOf: block)
  }

  /// Splits an ASCII path into ustar prefix (≤ 155 bytes) and name (≤ 100 bytes) at a slash, if one fits.
  private static func ustarSplit(_ path: [UInt8]) -> (prefix: [UInt8], name: [UInt8])? {
    for i in path.indices where path[i] == 0x2f && i > 0 && i <= 155 {
      let rest = path.count - i - 1
      if rest > 0 && rest <= 100 { return (Array(path[..<i]), Array(path[(i + 1)...])) }
    }
    return nil
  }

  /// The first `limit` bytes or fewer, cut at a UTF-8 character boundary (the ustar fallback for PAX values).
  private static func truncated(_ bytes: [UInt8], to limit: Int) -> [UInt8] {
    if bytes.count <= limit { return bytes }
    var end = limit
    while end > 0 && bytes[end] & 0xc0 == 0x80 { end -= 1 }
    return Array(bytes[..<end])
  }

  /// "-?seconds[.fraction]" with trailing zeros of the fraction dropped.
  private static func paxTime(_ seconds: Int64, _ nanoseconds: UInt32) -> [UInt8] {
    // A negative time with a fraction is -(whole + fraction): -1.5 s is seconds -2, nanoseconds 500_000_000.
    let negative = seconds < 0
    let whole = negative && nanoseconds > 0 ? (seconds + 1).magnitude : seconds.magnitude
    let nanos = negative && nanoseconds > 0 ? 1_000_000_000 - nanoseconds : nanoseconds
    let sign = negative ? "-" : ""
    if nanos == 0 { return Array("\(sign)\(whole)".utf8) }
    var fraction = String(nanos)
    fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return Array("\(sign)\(whole).\(fraction)".utf8)
  }

  /// Appends "LEN key=value\n", where LEN counts its own digits.
  private static func addRecord(_ key: String, _ value: [UInt8], to records: inout [UInt8]) {
    let body = 3 + key.utf8.count + value.count  // " " key "=" value "\n"
    var length = body
    while true {
      let next = body + String(length).utf8.count
      if next == length { break }
      length = next
    }
    records.append(contentsOf: String(length).utf8)
    records.append(0x20)
    records.append(contentsOf: key.utf8)
    records.append(0x3d)
    records.append(contentsOf: value)
    records.append(0x0a)
  }
}
