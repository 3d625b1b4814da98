import Codecs

/// Streams entries out of a tar archive (v7, ustar, GNU and PAX dialects) without seeking and without holding
/// more than one entry's metadata: layers arrive as decompressed streams and can be many gigabytes.
///
/// Small reads go through a 64 KiB read-ahead buffer so that a layer of many small files costs few calls into the
/// stream; reads of at least that size go straight from the stream into the caller's buffer.
/// Every malformed or hostile input is a thrown `ArchiveError`: sizes are bounded before anything is allocated.
/// After an error the reader's position is undefined: stop reading that archive.
public final class TarReader {
  private let stream: ByteStream
  private let buffer: UnsafeMutableRawBufferPointer
  private var bufferStart = 0
  private var bufferEnd = 0
  /// The current header block.
  private let block: UnsafeMutableRawBufferPointer
  /// Data bytes of the current entry not yet returned by `read`.
  private var remaining: Int64 = 0
  /// Padding after the current entry's data, up to the next block boundary.
  private var padding = 0
  private var currentPath: String?
  /// The last entry's path, to say where a corrupt header sits.
  private var lastPath: String?
  /// Bytes taken from the stream so far.
  private var consumed: Int64 = 0
  private var sawHeader = false
  private var ended = false
  private var globals = PaxRecords()

  /// The offset in the stream of the next data byte `read` returns: right after `next()`, where the entry's data
  /// starts (how a docker-archive reader finds its members to `pread` them later).
  public var position: Int64 { consumed }

  public init(_ stream: ByteStream) {
    self.stream = stream
    buffer = .allocate(byteCount: 1 << 16, alignment: 16)
    block = .allocate(byteCount: TarField.blockSize, alignment: 16)
  }

  deinit {
    buffer.deallocate()
    block.deallocate()
  }

  /// The next entry's header, or nil at the end of the archive: a zero block, or a clean end of the stream at a
  /// header boundary. Skips whatever the caller left unread of the previous entry's data.
  public func next() throws -> TarHeader? {
    if ended { return nil }
    try skip(remaining, what: "the entry's data")
    remaining = 0
    try skip(Int64(padding), what: "the entry's padding")
    padding = 0
    currentPath = nil

    var local = PaxRecords()
    var longName: [UInt8]?
    var longLink: [UInt8]?
    while true {
      let pending = !local.isEmpty || longName != nil || longLink != nil
      guard try readHeaderBlock() else {
        if pending { throw ArchiveError(entry: nil, reason: "truncated (archive ends after an extended header)") }
        ended = true
        return nil
      }
      let raw = UnsafeRawBufferPointer(block)
      if TarField.isZero(raw) {
        if pending { throw ArchiveError(entry: nil, reason: "truncated (archive ends after an extended header)") }
        ended = true
        return nil
      }
      let blockName = String(decoding: TarField.string(raw, TarField.name), as: UTF8.self)
      if !TarField.checksumMatches(raw) {
        if !sawHeader { throw ArchiveError(entry: nil, reason: "not a tar archive (the first header is invalid)") }
        let at = consumed - Int64(TarField.blockSize)
        let after = lastPath.map { " after entry \"\($0)\"" } ?? ""
        throw ArchiveError(entry: nil, reason: "header checksum mismatch at offset \(at)\(after)")
      }
      sawHeader = true
      switch raw[TarField.typeflag] {
      case UInt8(ascii: "x"):
        let records = try PaxRecords.parse(try readMetadata(kind: "PAX header", entry: blockName), entry: blockName)
        try local.merge(records, global: false, entry: blockName)
      case UInt8(ascii: "g"):
        let records = try PaxRecords.parse(try readMetadata(kind: "PAX header", entry: blockName), entry: blockName)
        try globals.merge(records, global: true, entry: blockName)
      case UInt8(ascii: "L"):
        longName = trimNUL(try readMetadata(kind: "GNU long name", entry: blockName))
      case UInt8(ascii: "K"):
        longLink = trimNUL(try readMetadata(kind: "GNU long name", entry: blockName))
      default:
        let pax = PaxView(local: local, global: globals, entry: blockName)
        return try entryHeader(pax: pax, longName: longName, longLink: longLink)
      }
    }
  }

  /// Reads the current entry's data into `buffer`, up to its size; 0 once the entry's data is exhausted.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    if remaining == 0 || buffer.count == 0 { return 0 }
    let want = Int(min(Int64(buffer.count), remaining))
    let n = try input(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
    if n == 0 {
      throw ArchiveError(entry: currentPath, reason: "truncated (archive ends inside the entry's data)")
    }
    remaining -= Int64(n)
    return n
  }

  // MARK: - Building a header

  /// Folds the ustar fields, GNU long names and PAX records of the entry in `block` into a `TarHeader`.
  private func entryHeader(pax: PaxView, longName: [UInt8]?, longLink: [UInt8]?) throws -> TarHeader {
    let raw = UnsafeRawBufferPointer(block)
    var pathBytes = TarField.string(raw, TarField.name)
    let flag = raw[TarField.typeflag]
    let ustar = raw[TarField.magic].elementsEqual("ustar\0".utf8)
    if let longName {
      pathBytes = longName
    } else if ustar {
      let prefix = TarField.string(raw, TarField.prefix)
      if !prefix.isEmpty { pathBytes = prefix + [0x2f] + pathBytes }
    }
    // Errors before the path is decoded name the entry as best they can.
    let lossy = String(decoding: pax["path"] ?? pathBytes, as: UTF8.self)
    let named = PaxView(local: pax.local, global: pax.global, entry: lossy)
    let path = try named.string("path", what: "name") ?? TarField.utf8(pathBytes, what: "name", entry: lossy)
    currentPath = path
    lastPath = path

    let type: TarEntryType
    switch flag {
    case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
      // Pre-POSIX archives mark directories only by a trailing slash.
      type = flag == 0 && pathBytes.last == 0x2f && pax["path"] == nil ? .directory : .regular
    case UInt8(ascii: "1"): type = .hardlink
    case UInt8(ascii: "2"): type = .symlink
    case UInt8(ascii: "3"): type = .characterDevice
    case UInt8(ascii: "4"): type = .blockDevice
    case UInt8(ascii: "5"): type = .directory
    case UInt8(ascii: "6"): type = .fifo
    case UInt8(ascii: "S"): throw ArchiveError(entry: path, reason: "sparse entries are not supported")
    default:
      let shown = flag >= 0x20 && flag < 0x7f ? "'\(Character(Unicode.Scalar(flag)))'" : "byte \(flag)"
      throw ArchiveError(entry: path, reason: "unsupported entry type \(shown)")
    }
    if pax.hasKey(prefix: "GNU.sparse.") {
      throw ArchiveError(entry: path, reason: "sparse entries are not supported")
    }
    let view = PaxView(local: pax.local, global: pax.global, entry: path)

    func field(_ range: Range<Int>, _ name: String, max: Int64) throws -> Int64 {
      let v = try TarField.number(raw, range, name: name, entry: path)
      guard v >= 0 && v <= max else { throw ArchiveError(entry: path, reason: "\(name) \(v) is out of range") }
      return v
    }
    let idMax = Int64(UInt32.max)
    var header = TarHeader(path: path, type: type)
    header.mode = UInt32(try field(TarField.mode, "mode", max: idMax) & 0o7777)
    header.uid = UInt32(try view.integer("uid", max: idMax) ?? field(TarField.uid, "uid", max: idMax))
    header.gid = UInt32(try view.integer("gid", max: idMax) ?? field(TarField.gid, "gid", max: idMax))
    let size = try view.integer("size", max: TarField.maxSize) ?? field(TarField.size, "size", max: TarField.maxSize)
    if let time = try view.time("mtime") {
      header.mtimeSeconds = time.seconds
      header.mtimeNanoseconds = time.nanoseconds
    } else {
      header.mtimeSeconds = try TarField.number(raw, TarField.mtime, name: "mtime", entry: path)
    }
    if type == .characterDevice || type == .blockDevice {
      header.devMajor = UInt32(
        try view.integer("SCHILY.devmajor", max: idMax) ?? field(TarField.devMajor, "devmajor", max: idMax))
      header.devMinor = UInt32(
        try view.integer("SCHILY.devminor", max: idMax) ?? field(TarField.devMinor, "devminor", max: idMax))
    }
    if type == .symlink || type == .hardlink {
      header.linkName =
        try view.string("linkpath", what: "link name")
        ?? TarField.utf8(longLink ?? TarField.string(raw, TarField.linkName), what: "link name", entry: path)
    }
    if !view.isEmpty { header.xattrs = try view.xattrs() }
    // Like Go's archive/tar (what most images were built with), only regular files carry data.
    if type == .regular {
      header.size = size
      remaining = size
      padding = Int((512 - size % 512) % 512)
    }
    return header
  }

  private func trimNUL(_ bytes: [UInt8]) -> [UInt8] {
    guard let nul = bytes.firstIndex(of: 0) else { return bytes }
    return Array(bytes[..<nul])
  }

  // MARK: - Input

  /// The payload of a PAX or GNU long-name entry, bounded before it is allocated, with its padding skipped.
  private func readMetadata(kind: String, entry: String) throws -> [UInt8] {
    let size = try TarField.number(UnsafeRawBufferPointer(block), TarField.size, name: "size", entry: entry)
    guard size >= 0 else { throw ArchiveError(entry: entry, reason: "\(kind) has a negative size") }
    guard size <= TarField.maxMetadata else {
      throw ArchiveError(entry: entry, reason: "\(kind) of \(size) bytes exceeds the 1 MiB limit")
    }
    var data = [UInt8](repeating: 0, count: Int(size))
    let n = try data.withUnsafeMutableBytes { out in
      var done = 0
      while done < out.count {
        let n = try input(into: UnsafeMutableRawBufferPointer(rebasing: out[done...]))
        if n == 0 { break }
        done += n
      }
      return done
    }
    if n < data.count { throw ArchiveError(entry: entry, reason: "truncated (archive ends inside a \(kind))") }
    try skip((512 - size % 512) % 512, what: "a \(kind)'s padding")
    return data
  }

  /// Fills `block`; false on a clean end of the stream before its first byte.
  private func readHeaderBlock() throws -> Bool {
    var done = 0
    while done < TarField.blockSize {
      let n = try input(into: UnsafeMutableRawBufferPointer(rebasing: block[done...]))
      if n == 0 {
        if done == 0 { return false }
        if !sawHeader {
          throw ArchiveError(entry: nil, reason: "not a tar archive (truncated: \(done) bytes, less than one header)")
        }
        throw ArchiveError(entry: nil, reason: "truncated (archive ends inside a header)")
      }
      done += n
    }
    return true
  }

  /// Reads and discards `count` bytes.
  private func skip(_ count: Int64, what: String) throws {
    var left = count
    while left > 0 {
      if bufferStart == bufferEnd {
        bufferStart = 0
        bufferEnd = try stream.read(into: buffer)
        if bufferEnd == 0 { throw ArchiveError(entry: currentPath, reason: "truncated (archive ends inside \(what))") }
      }
      let n = Int(min(left, Int64(bufferEnd - bufferStart)))
      bufferStart += n
      consumed += Int64(n)
      left -= Int64(n)
    }
  }

  /// Up to `dest.count` bytes from the read-ahead buffer, or straight from the stream for large reads.
  private func input(into dest: UnsafeMutableRawBufferPointer) throws -> Int {
    if bufferStart == bufferEnd {
      if dest.count >= buffer.count {
        let n = try stream.read(into: dest)
        consumed += Int64(n)
        return n
      }
      bufferStart = 0
      bufferEnd = try stream.read(into: buffer)
      if bufferEnd == 0 { return 0 }
    }
    let n = min(dest.count, bufferEnd - bufferStart)
    dest.baseAddress!.copyMemory(from: buffer.baseAddress! + bufferStart, byteCount: n)
    bufferStart += n
    consumed += Int64(n)
    return n
  }
}
