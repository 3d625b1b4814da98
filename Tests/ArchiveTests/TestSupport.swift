import Archive
import Codecs
import Glibc
import LinuxSystem
import TestSupport
import Testing

extension TempDir {
  /// Runs a shell command in this directory and fails the test (with the command) when it exits non-zero.
  func shell(_ command: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let status = system("cd '\(path)' && \(command)")
    guard status == 0 else {
      Issue.record("command failed (status \(status)): \(command)", sourceLocation: sourceLocation)
      throw SystemError("system", path: command, errno: .EIO)
    }
  }
}

/// One entry as read back: its header and all of its data.
struct ReadEntry {
  var header: TarHeader
  var data: [UInt8]
}

/// Reads every entry of `bytes`, the data in reads of at most `chunk` bytes.
func readAll(_ bytes: [UInt8], chunk: Int = 1 << 16) throws -> [ReadEntry] {
  try readAll(TarReader(MemoryStream(bytes)), chunk: chunk)
}

func readAll(_ reader: TarReader, chunk: Int = 1 << 16) throws -> [ReadEntry] {
  var entries: [ReadEntry] = []
  var buffer = [UInt8](repeating: 0, count: chunk)
  while let header = try reader.next() {
    var data: [UInt8] = []
    while true {
      let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
      if n == 0 { break }
      data.append(contentsOf: buffer[0..<n])
    }
    entries.append(ReadEntry(header: header, data: data))
  }
  return entries
}

/// Writes entries with `TarWriter` to a temporary file and returns the archive's bytes.
func writeArchive(_ entries: [(TarHeader, [UInt8])]) throws -> [UInt8] {
  let dir = try TempDir()
  defer { dir.remove() }
  let fd = try FileDescriptor.open(dir.path + "/out.tar", O_RDWR | O_CREAT | O_TRUNC)
  let writer = TarWriter(fd)
  for (header, data) in entries {
    try writer.append(header)
    try data.withUnsafeBytes { try writer.write($0) }
  }
  try writer.finish()
  return try Files.read(dir.path + "/out.tar")
}

/// The reader's error for `bytes` (read to the end, data included); fails the test when there is none.
func readError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> ArchiveError? {
  do {
    let entries = try readAll(bytes)
    Issue.record("expected an ArchiveError, read \(entries.count) entries", sourceLocation: sourceLocation)
    return nil
  } catch let error as ArchiveError {
    return error
  } catch {
    Issue.record("expected an ArchiveError, got \(error)", sourceLocation: sourceLocation)
    return nil
  }
}

/// Data that differs from byte to byte and from entry to entry.
func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
  (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ $0 >> 9) }
}

/// Builds tar bytes by hand, independently of `TarWriter`, so that hostile and odd archives can be made.
struct RawTar {
  var bytes: [UInt8] = []

  /// A ustar header block. `edit` runs before the checksum is computed; `fixChecksum: false` keeps whatever
  /// checksum field `edit` wrote.
  mutating func header(
    _ name: String, flag: Character = "0", size: Int = 0, magic: String = "ustar\0", version: String = "00",
    fixChecksum: Bool = true, edit: (inout [UInt8]) -> Void = { _ in }
  ) {
    var block = [UInt8](repeating: 0, count: 512)
    RawTar.put(Array(name.utf8), &block, at: 0, width: 100)
    RawTar.put(Array("0000644\0".utf8), &block, at: 100, width: 8)
    RawTar.put(Array("0001750\0".utf8), &block, at: 108, width: 8)
    RawTar.put(Array("0001750\0".utf8), &block, at: 116, width: 8)
    RawTar.put(Array(RawTar.octal(size, width: 12).utf8), &block, at: 124, width: 12)
    RawTar.put(Array("14000000000\0".utf8), &block, at: 136, width: 12)
    block[156] = flag.asciiValue!
    RawTar.put(Array(magic.utf8), &block, at: 257, width: 6)
    RawTar.put(Array(version.utf8), &block, at: 263, width: 2)
    edit(&block)
    if fixChecksum { RawTar.setChecksum(&block) }
    bytes += block
  }

  /// Data followed by padding to the block size.
  mutating func data(_ data: [UInt8], pad: Bool = true) {
    bytes += data
    if pad { bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512) }
  }

  /// A PAX 'x' (or 'g') header and its records.
  mutating func pax(_ records: [(String, [UInt8])], flag: Character = "x") {
    var body: [UInt8] = []
    for (key, value) in records {
      let rest = 3 + key.utf8.count + value.count
      var length = rest + 1
      while String(length).count + rest != length { length = String(length).count + rest }
      body += Array("\(length) \(key)=".utf8) + value + [0x0a]
    }
    paxRaw(body, flag: flag)
  }

  mutating func paxRaw(_ body: [UInt8], flag: Character = "x") {
    header("PaxHeader/x", flag: flag, size: body.count)
    data(body)
  }

  mutating func end() { bytes += [UInt8](repeating: 0, count: 1024) }

  static func put(_ value: [UInt8], _ block: inout [UInt8], at offset: Int, width: Int) {
    for i in 0..<width { block[offset + i] = i < value.count ? value[i] : 0 }
  }

  static func octal(_ value: Int, width: Int) -> String {
    let digits = String(value, radix: 8)
    return String(repeating: "0", count: width - 1 - digits.count) + digits + "\0"
  }

  /// The unsigned ustar checksum: six octal digits, NUL, space.
  static func setChecksum(_ block: inout [UInt8], signed: Bool = false) {
    for i in 148..<156 { block[i] = 0x20 }
    let sum = block.reduce(0) { $0 + (signed ? Int(Int8(bitPattern: $1)) : Int($1)) }
    put(Array((octal(sum, width: 7) + " ").utf8), &block, at: 148, width: 8)
  }
}
