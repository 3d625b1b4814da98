import Archive
import Codecs
import Glibc
import LinuxSystem
import TestSupport
import Testing

/// TarWriter → TarReader: every field of every entry type survives, with PAX only where ustar cannot hold it.
@Suite struct RoundTripTests {
  /// Asserts that `got` carries every field of `want` (size only for regular files, as the reader reports it).
  func expectSame(_ got: TarHeader, _ want: TarHeader, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.path == want.path, sourceLocation: sourceLocation)
    #expect(got.type == want.type, sourceLocation: sourceLocation)
    #expect(got.mode == want.mode, sourceLocation: sourceLocation)
    #expect(got.uid == want.uid, sourceLocation: sourceLocation)
    #expect(got.gid == want.gid, sourceLocation: sourceLocation)
    #expect(got.size == (want.type == .regular ? want.size : 0), sourceLocation: sourceLocation)
    #expect(got.mtimeSeconds == want.mtimeSeconds, sourceLocation: sourceLocation)
    #expect(got.mtimeNanoseconds == want.mtimeNanoseconds, sourceLocation: sourceLocation)
    let isLink = want.type == .symlink || want.type == .hardlink
    #expect(got.linkName == (isLink ? want.linkName : ""), sourceLocation: sourceLocation)
    let isDevice = want.type == .characterDevice || want.type == .blockDevice
    #expect(got.devMajor == (isDevice ? want.devMajor : 0), sourceLocation: sourceLocation)
    #expect(got.devMinor == (isDevice ? want.devMinor : 0), sourceLocation: sourceLocation)
    let wantXattrs = want.xattrs.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    #expect(got.xattrs.map(\.name) == wantXattrs.map(\.name), sourceLocation: sourceLocation)
    #expect(got.xattrs.map(\.value) == wantXattrs.map(\.value), sourceLocation: sourceLocation)
  }

  func roundTrip(_ entries: [(TarHeader, [UInt8])], chunk: Int = 1 << 16) throws -> [ReadEntry] {
    let read = try readAll(try writeArchive(entries), chunk: chunk)
    #expect(read.count == entries.count)
    for (got, want) in zip(read, entries) {
      expectSame(got.header, want.0)
      #expect(got.data == want.1)
    }
    return read
  }

  @Test func everyEntryType() throws {
    let data = pattern(1000)
    let entries: [(TarHeader, [UInt8])] = [
      (TarHeader(path: "bin/", type: .directory, mode: 0o755, uid: 0, gid: 0, mtimeSeconds: 1_700_000_000), []),
      (TarHeader(path: "bin/su", mode: 0o4755, uid: 0, gid: 0, size: 1000, mtimeSeconds: 1_700_000_001), data),
      (TarHeader(path: "bin/su2", type: .hardlink, mode: 0o4755, linkName: "bin/su"), []),
      (TarHeader(path: "bin/sh", type: .symlink, mode: 0o777, linkName: "../usr/bin/dash"), []),
      (TarHeader(path: "dev/null", type: .characterDevice, mode: 0o666, devMajor: 1, devMinor: 3), []),
      (TarHeader(path: "dev/sda", type: .blockDevice, mode: 0o660, gid: 6, devMajor: 8, devMinor: 0), []),
      (TarHeader(path: "tmp", type: .directory, mode: 0o1777, uid: 1, gid: 2), []),
      (TarHeader(path: "run/initctl", type: .fifo, mode: 0o600, uid: 3, gid: 4), []),
      (TarHeader(path: "usr/bin/newgrp", mode: 0o2755, size: 0), []),
    ]
    let archive = try writeArchive(entries)
    // Nothing here needs PAX: the first header is a plain ustar directory, and the archive is small.
    #expect(archive[156] == UInt8(ascii: "5"))
    #expect(archive.count == 512 * (entries.count + 2 + 2))
    _ = try roundTrip(entries)
  }

  @Test func longNamesAndComponents() throws {
    let component255 = String(repeating: "x", count: 255)
    let long300 = (0..<6).map { _ in String(repeating: "d", count: 49) }.joined(separator: "/") + "/file"
    #expect(long300.utf8.count == 6 * 50 + 4)
    let splittable = String(repeating: "p", count: 150) + "/" + String(repeating: "n", count: 99)
    let entries: [(TarHeader, [UInt8])] = [
      (TarHeader(path: long300, size: 5), pattern(5)),
      (TarHeader(path: "a/" + component255, size: 3), pattern(3)),
      (TarHeader(path: "l/sym", type: .symlink, linkName: long300), []),
      (TarHeader(path: "l/hard", type: .hardlink, linkName: long300), []),
      (TarHeader(path: String(repeating: "y", count: 100)), []),
      (TarHeader(path: splittable, size: 1), [7]),
    ]
    _ = try roundTrip(entries)
    // A path that fits ustar's prefix and name fields needs no PAX header.
    let plain = try writeArchive([(TarHeader(path: splittable), [])])
    #expect(plain[156] == UInt8(ascii: "0"))
    let paxed = try writeArchive([(TarHeader(path: long300), [])])
    #expect(paxed[156] == UInt8(ascii: "x"))
  }

  @Test func unicodeNames() throws {
    let entries: [(TarHeader, [UInt8])] = [
      (TarHeader(path: "usr/share/doc/café/naïve-日本語.txt", size: 4), Array("thé\n".utf8).prefix(4).map { $0 }),
      (TarHeader(path: "emoji-🦊", type: .symlink, linkName: "cible-ü"), []),
      (TarHeader(path: String(repeating: "é", count: 120), type: .directory, mode: 0o700), []),
    ]
    let read = try roundTrip(entries)
    #expect(read[0].header.path.hasSuffix("日本語.txt"))
  }

  @Test func binaryXattrsComeBackSorted() throws {
    let capability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0xff, 0x0a, 0x3d, 0x00, 0x20]
    let header = TarHeader(
      path: "usr/bin/ping", size: 2,
      xattrs: [
        (name: "user.zeta", value: Array("z=1\n".utf8)), (name: "security.capability", value: capability),
        (name: "trusted.empty", value: []), (name: "user.ünicode", value: [0xc3, 0x28]),
      ])
    let read = try roundTrip([(header, [1, 2])])
    #expect(read[0].header.xattrs.map(\.name) == ["security.capability", "trusted.empty", "user.zeta", "user.ünicode"])
    #expect(read[0].header.xattrs[0].value == capability)
  }

  @Test func nanosecondAndOutOfRangeTimes() throws {
    let times: [(Int64, UInt32)] = [
      (1_700_000_000, 123_456_789), (1_700_000_000, 1), (0, 0), (-1, 500_000_000), (-86_400, 0), (1 << 40, 999_999_999),
    ]
    let entries = times.enumerated().map { i, t in
      (TarHeader(path: "t\(i)", mtimeSeconds: t.0, mtimeNanoseconds: t.1), [UInt8]())
    }
    _ = try roundTrip(entries)
  }

  @Test func largeIds() throws {
    let entries: [(TarHeader, [UInt8])] = [
      (TarHeader(path: "a", uid: 1 << 21, gid: (1 << 21) - 1), []),
      (TarHeader(path: "b", uid: UInt32.max, gid: 100_000_000), []),
      (TarHeader(path: "c", type: .blockDevice, devMajor: 1 << 22, devMinor: UInt32.max), []),
    ]
    _ = try roundTrip(entries)
  }

  @Test(arguments: [1, 7, 512, 200_000])
  func sizesAroundBlockBoundaries(chunk: Int) throws {
    let sizes = [0, 1, 511, 512, 513, 1023, 65_536, (1 << 20) + 3]
    let entries = sizes.enumerated().map { i, n in
      (TarHeader(path: "f\(n)", size: Int64(n)), pattern(n, seed: UInt8(i)))
    }
    _ = try roundTrip(entries, chunk: chunk)
  }

  @Test func unreadDataIsSkipped() throws {
    let archive = try writeArchive([
      (TarHeader(path: "big", size: 300_000), pattern(300_000)), (TarHeader(path: "small", size: 3), [9, 8, 7]),
    ])
    let reader = TarReader(MemoryStream(archive))
    #expect(try reader.next()?.path == "big")
    #expect(reader.position == 512)  // where the data starts, for readers that pread members later
    var buf = [UInt8](repeating: 0, count: 10)
    #expect(try buf.withUnsafeMutableBytes { try reader.read(into: $0) } == 10)
    #expect(buf == Array(pattern(300_000)[0..<10]))
    let small = try reader.next()
    #expect(small?.path == "small")
    #expect(reader.position == 512 + 300_032 + 512)
    #expect(try buf.withUnsafeMutableBytes { try reader.read(into: $0) } == 3)
    #expect(Array(buf[0..<3]) == [9, 8, 7])
    #expect(try buf.withUnsafeMutableBytes { try reader.read(into: $0) } == 0)
    #expect(try reader.next() == nil)
    #expect(try reader.next() == nil)
  }

  @Test func writerRejectsBadInput() throws {
    func writerError(_ body: (TarWriter) throws -> Void) throws -> String {
      let dir = try TempDir()
      defer { dir.remove() }
      let fd = try FileDescriptor.open(dir.path + "/w.tar", O_WRONLY | O_CREAT)
      do {
        try body(TarWriter(fd))
      } catch let error as ArchiveError {
        return error.description
      }
      return "no error"
    }
    let tooMuch = try writerError { w in
      try w.append(TarHeader(path: "f", size: 2))
      try [1, 2, 3].withUnsafeBytes { try w.write($0) }
    }
    #expect(tooMuch.contains("tar entry \"f\"") && tooMuch.contains("more data"))
    let missing = try writerError { w in
      try w.append(TarHeader(path: "g", size: 2))
      try w.finish()
    }
    #expect(missing.contains("tar entry \"g\"") && missing.contains("missing"))
    let badXattr = try writerError { w in try w.append(TarHeader(path: "h", xattrs: [(name: "a=b", value: [])])) }
    #expect(badXattr.contains("xattr"))
    let badNanos = try writerError { w in try w.append(TarHeader(path: "i", mtimeNanoseconds: 1_000_000_000)) }
    #expect(badNanos.contains("nanoseconds"))
  }
}
