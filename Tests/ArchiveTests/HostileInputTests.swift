import Archive
import Codecs
import Testing

/// Malformed and hostile archives: each must be a thrown `ArchiveError` with a reason that says what is wrong,
/// never a trap, a hang or an allocation sized by the attacker.
@Suite struct HostileInputTests {
  /// A valid one-file archive: "ok" with 5 bytes of data.
  func valid() -> RawTar {
    var tar = RawTar()
    tar.header("ok", size: 5)
    tar.data([1, 2, 3, 4, 5])
    return tar
  }

  @Test func checksumMismatchOnALaterHeader() {
    var tar = valid()
    tar.header("bad", size: 0)
    tar.bytes[512 + 512 + 101] ^= 0x01  // mode "0100644": still a number, but no longer what was summed
    tar.end()
    let error = readError(tar.bytes)
    #expect(error?.reason.contains("checksum") == true)
    #expect(error?.description.contains("\"ok\"") == true)
  }

  @Test func signedAndUnsignedChecksumsAreAccepted() throws {
    for signed in [false, true] {
      var tar = RawTar()
      // A high byte in the user name field (not read) makes the signed and unsigned sums differ.
      tar.header("f", size: 1, fixChecksum: false) { block in
        block[265] = 0xe9
        RawTar.setChecksum(&block, signed: signed)
      }
      tar.data([42])
      tar.end()
      let entries = try readAll(tar.bytes)
      #expect(entries.count == 1 && entries[0].data == [42], "signed: \(signed)")
    }
  }

  @Test func notATarArchive() {
    let text = Array(String(repeating: "This is a README, not an archive.\n", count: 40).utf8)
    #expect(readError(text)?.reason.contains("not a tar archive") == true)
    #expect(readError(Array("short text\n".utf8))?.reason.contains("not a tar archive") == true)
    var badFirst = valid()
    badFirst.bytes[0] ^= 0x20
    #expect(readError(badFirst.bytes)?.reason.contains("not a tar archive") == true)
  }

  @Test func emptyAndZeroArchivesHaveNoEntries() throws {
    #expect(try readAll([]).isEmpty)
    #expect(try readAll([UInt8](repeating: 0, count: 1024)).isEmpty)
    var tar = valid()
    tar.end()
    tar.bytes += Array("trailing junk after the end marker".utf8)
    #expect(try readAll(tar.bytes).map(\.header.path) == ["ok"])
    // A clean end of the stream at a header boundary also ends the archive.
    #expect(try readAll(valid().bytes).map(\.header.path) == ["ok"])
  }

  /// Cut inside the first header, the data, the padding, and the second header.
  @Test(arguments: [100, 512 + 2, 512 + 5, 512 + 300, 1024 + 200])
  func truncation(at length: Int) {
    var tar = valid()
    tar.header("second")
    let error = readError(Array(tar.bytes[0..<length]))
    #expect(error?.reason.contains("truncated") == true)
    #expect(error?.entry == ((512..<1024).contains(length) ? "ok" : nil))
  }

  @Test func truncatedWhileSkippingUnreadData() throws {
    let bytes = Array(valid().bytes[0..<(512 + 3)])
    let reader = TarReader(MemoryStream(bytes))
    #expect(try reader.next()?.path == "ok")
    #expect(throws: ArchiveError.self) { try reader.next() }
    var afterPAX = RawTar()
    afterPAX.pax([("path", Array("x".utf8))])
    #expect(readError(afterPAX.bytes)?.reason.contains("truncated") == true)
  }

  @Test func oversizedMetadataIsNotAllocated() {
    var pax = RawTar()
    pax.header("PaxHeader/huge", flag: "x", size: 1 << 30)
    #expect(readError(pax.bytes)?.reason.contains("PAX header") == true)
    var global = RawTar()
    global.header("PaxHeader/huge", flag: "g", size: (1 << 20) + 1)
    #expect(readError(global.bytes)?.reason.contains("PAX header") == true)
    for flag: Character in ["L", "K"] {
      var gnu = RawTar()
      gnu.header("././@LongLink", flag: flag, size: 1 << 32, magic: "ustar ", version: " ")
      #expect(readError(gnu.bytes)?.reason.contains("long name") == true)
    }
  }

  @Test(arguments: [
    "30 path=abc\n", "12 pathabc\n", "xx path=a\n", "5 path=abcdef\n", "7 path=a", "-9 path=a\n", " 9 path=a\n",
    "0 \n",
  ])
  func malformedPAXRecords(body: String) {
    var tar = RawTar()
    tar.paxRaw(Array(body.utf8))
    tar.header("f")
    tar.end()
    #expect(readError(tar.bytes)?.reason.contains("PAX header") == true, "\(body.debugDescription)")
  }

  @Test(arguments: ["size", "uid", "gid", "mtime"])
  func invalidPAXValues(key: String) {
    var tar = RawTar()
    tar.pax([(key, Array("12abc".utf8))])
    tar.header("f")
    tar.end()
    let error = readError(tar.bytes)
    #expect(error?.reason.contains("PAX header") == true && error?.reason.contains(key) == true)
  }

  @Test(arguments: [(100, "mode"), (108, "uid"), (116, "gid"), (124, "size"), (136, "mtime")])
  func invalidNumericFields(offset: Int, name: String) {
    var tar = RawTar()
    tar.header("f") { block in
      block[offset + 2] = UInt8(ascii: "9")
    }
    tar.end()
    #expect(readError(tar.bytes)?.reason == "invalid numeric field \(name)")
  }

  @Test func negativeAndAbsurdSizes() {
    var negative = RawTar()
    negative.header("neg") { block in
      for i in 124..<136 { block[i] = 0xff }  // base-256 -1
    }
    #expect(readError(negative.bytes)?.reason.contains("size") == true)
    var huge = RawTar()
    huge.header("huge") { block in
      for i in 124..<136 { block[i] = 0 }
      block[124] = 0x80
      block[129] = 0x01  // 2^48
    }
    #expect(readError(huge.bytes)?.reason.contains("out of range") == true)
    var overflow = RawTar()
    overflow.header("overflow") { block in
      for i in 124..<136 { block[i] = 0x7f }
      block[124] = 0x80 | 0x3f
    }
    #expect(readError(overflow.bytes)?.reason == "invalid numeric field size")
    var paxHuge = RawTar()
    paxHuge.pax([("size", Array("99999999999999999999".utf8))])
    paxHuge.header("f")
    #expect(readError(paxHuge.bytes)?.reason.contains("size") == true)
  }

  @Test func base256SizeAndPAXSizeAreHonoured() throws {
    var tar = RawTar()
    tar.header("b256", size: 0) { block in
      for i in 124..<136 { block[i] = 0 }
      block[124] = 0x80
      block[135] = 3
    }
    tar.data([7, 8, 9])
    tar.pax([("size", Array("2".utf8))])
    tar.header("paxsize", size: 0)
    tar.data([5, 6])
    tar.end()
    let entries = try readAll(tar.bytes)
    #expect(entries.map(\.data) == [[7, 8, 9], [5, 6]])
    // A PAX size beyond the data that is there: the header reads, the data is truncated.
    var big = RawTar()
    big.pax([("size", Array("8589934597".utf8))])
    big.header("big")
    big.data(pattern(1000))
    let reader = TarReader(MemoryStream(big.bytes))
    #expect(try reader.next()?.size == 8_589_934_597)
    #expect(readError(big.bytes)?.reason.contains("truncated") == true)
  }

  @Test func nonUTF8Names() {
    var tar = RawTar()
    tar.header("bad-\u{1}") { $0[5] = 0xff }
    tar.end()
    #expect(readError(tar.bytes)?.reason == "name is not valid UTF-8")
    var pax = RawTar()
    pax.pax([("path", [0x61, 0xc3, 0x28])])
    pax.header("fallback")
    pax.end()
    let paxError = readError(pax.bytes)
    #expect(paxError?.reason == "name is not valid UTF-8")
    #expect(paxError?.entry == "a\u{FFFD}(")
    var link = RawTar()
    link.header("l", flag: "2") { $0[157] = 0xfe }
    #expect(readError(link.bytes)?.reason.contains("not valid UTF-8") == true)
  }

  @Test func unknownAndSparseTypes() {
    var unknown = RawTar()
    unknown.header("weird", flag: "Z")
    let error = readError(unknown.bytes)
    #expect(error?.reason.contains("'Z'") == true && error?.entry == "weird")
    var sparse = RawTar()
    sparse.header("holes", flag: "S", magic: "ustar ", version: " ")
    #expect(readError(sparse.bytes)?.reason == "sparse entries are not supported")
    var paxSparse = RawTar()
    paxSparse.pax([("GNU.sparse.major", Array("1".utf8)), ("GNU.sparse.minor", Array("0".utf8))])
    paxSparse.header("holes2")
    #expect(readError(paxSparse.bytes)?.reason == "sparse entries are not supported")
  }

  @Test func globalHeadersApplyToLaterEntries() throws {
    var tar = RawTar()
    tar.pax([("uid", Array("4000000".utf8)), ("SCHILY.xattr.user.g", Array("global".utf8))], flag: "g")
    tar.header("a")
    tar.pax([("uid", []), ("SCHILY.xattr.user.g", Array("local".utf8)), ("mtime", Array("-1.25".utf8))])
    tar.header("b")
    tar.header("c")
    tar.end()
    let entries = try readAll(tar.bytes)
    #expect(entries.map(\.header.path) == ["a", "b", "c"])
    #expect(entries.map(\.header.uid) == [4_000_000, 0o1750, 4_000_000])
    #expect(
      entries.map { $0.header.xattrs.first?.value } == [
        Array("global".utf8), Array("local".utf8), Array("global".utf8),
      ])
    #expect(entries[1].header.mtimeSeconds == -2 && entries[1].header.mtimeNanoseconds == 750_000_000)
    #expect(entries[2].header.mtimeSeconds == 0o14000000000)
  }

  @Test func libarchiveXattrsAndOldDialects() throws {
    var tar = RawTar()
    // libarchive: URL-encoded name, unpadded base64 value ("\0\u{1}\u{2}" is "AAEC").
    tar.pax([("LIBARCHIVE.xattr.user.a%3Db", Array("AAEC".utf8)), ("SCHILY.xattr.user.z", [0xff])])
    tar.header("la")
    // v7: no magic, a trailing slash on a '\0' entry marks a directory; no prefix field.
    tar.header("olddir/", flag: "\0", magic: "", version: "") { $0[345] = UInt8(ascii: "p") }
    // ustar: the prefix field holds the leading directories.
    tar.header("name") { RawTar.put(Array("pre/fix".utf8), &$0, at: 345, width: 155) }
    tar.end()
    let entries = try readAll(tar.bytes)
    #expect(entries[0].header.xattrs.map(\.name) == ["user.a=b", "user.z"])
    #expect(entries[0].header.xattrs.map(\.value) == [[0, 1, 2], [0xff]])
    #expect(entries[1].header.path == "olddir/" && entries[1].header.type == .directory)
    #expect(entries[2].header.path == "pre/fix/name" && entries[2].header.type == .regular)
  }

  /// Random damage to metadata-heavy archives (PAX, GNU long names, globals): each read ends in entries or an
  /// `ArchiveError`, never a trap or another error type.
  @Test func randomCorruptionOnlyThrowsArchiveErrors() throws {
    var tar = RawTar()
    tar.pax([("path", Array(String(repeating: "p/", count: 80).utf8)), ("mtime", Array("12.5".utf8))], flag: "g")
    tar.pax([("SCHILY.xattr.user.a", [0, 1]), ("LIBARCHIVE.xattr.user.b", Array("AAE".utf8)), ("uid", [0x39])])
    tar.header("a", size: 3)
    tar.data([1, 2, 3])
    tar.header("././@LongLink", flag: "L", size: 200, magic: "ustar ", version: " ")
    tar.data([UInt8](repeating: 0x71, count: 200))
    tar.header("s", flag: "2") { RawTar.put(Array("target".utf8), &$0, at: 157, width: 100) }
    tar.end()
    var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
    func random(_ bound: Int) -> Int {
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((seed >> 33) % UInt64(bound))
    }
    var outcomes = [0, 0]
    for _ in 0..<3000 {
      var damaged = tar.bytes
      for _ in 0..<(1 + random(4)) { damaged[random(damaged.count - 1024)] = UInt8(random(256)) }
      if random(3) != 0 {
        // Most damage is made checksum-valid so that it reaches the field parsers.
        let at = random(damaged.count / 512 - 2) * 512
        var block = Array(damaged[at..<(at + 512)])
        RawTar.setChecksum(&block)
        damaged.replaceSubrange(at..<(at + 512), with: block)
      }
      do {
        _ = try readAll(damaged)
        outcomes[0] += 1
      } catch is ArchiveError {
        outcomes[1] += 1
      }
    }
    #expect(outcomes[0] + outcomes[1] == 3000)
    #expect(outcomes[1] > 0)
  }

  @Test func errorsDescribeTheEntry() {
    let error = ArchiveError(entry: "etc/passwd", reason: "truncated (archive ends inside the entry's data)")
    #expect(error.description == "tar entry \"etc/passwd\": truncated (archive ends inside the entry's data)")
    #expect(ArchiveError(entry: nil, reason: "x").description == "tar archive: x")
  }
}
