import Archive
import Codecs
import Glibc
import LinuxSystem
import TestSupport
import Testing

/// Archives written by the tools images are really built with: GNU tar (gnu and pax dialects) and Python's tarfile.
@Suite struct ExternalToolTests {
  func entries(_ path: String) throws -> [String: ReadEntry] {
    let read = try readAll(TarReader(FileStream(path: path)))
    var byPath: [String: ReadEntry] = [:]
    for entry in read { byPath[entry.header.path] = entry }
    #expect(byPath.count == read.count, "duplicate paths in \(read.map(\.header.path))")
    return byPath
  }

  /// The type flags of the GNU "././@LongLink" pseudo-entries, scanning every block boundary.
  func longLinkFlags(_ raw: [UInt8]) -> [Character] {
    stride(from: 0, to: raw.count - 512, by: 512).compactMap { at in
      raw[at..<(at + 13)].elementsEqual("././@LongLink".utf8) ? Character(Unicode.Scalar(raw[at + 156])) : nil
    }
  }

  @Test func gnuTarGnuFormatLongNamesAndLinks() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let parent = "d/" + String(repeating: "a", count: 60) + "/" + String(repeating: "b", count: 60)
    let file = parent + "/" + String(repeating: "c", count: 76)
    #expect(file.utf8.count == 200)
    let target = String(repeating: "t", count: 150)
    try dir.shell(
      """
      mkdir -p '\(parent)' d/sub && printf 'hello gnu\\n' > '\(file)' && chmod 0640 '\(file)' \
      && ln '\(file)' d/hard && ln -s '\(target)' d/longlink && chmod 2750 d/sub \
      && touch -d @1600000000 '\(file)' && touch -h -d @1600000002 d/longlink && touch -d @1600000001 d/sub \
      && tar --format=gnu --sort=name --owner=1234 --group=5678 -cf gnu.tar d
      """)
    let raw = try Files.read(dir.path + "/gnu.tar")
    #expect(raw[156] == UInt8(ascii: "5"))  // "d/" first: a GNU header, not PAX
    #expect(raw.count > 1024 && raw[257..<265].elementsEqual("ustar  \0".utf8))
    // The long file name and the long link targets really went through GNU 'L' and 'K' entries.
    #expect(longLinkFlags(raw).filter { $0 == "L" }.count >= 2)
    #expect(longLinkFlags(raw).filter { $0 == "K" }.count == 2)
    let all = try entries(dir.path + "/gnu.tar")
    #expect(
      all.keys.sorted()
        == [
          "d/", "d/" + String(repeating: "a", count: 60) + "/", parent + "/", file, "d/hard",
          "d/longlink", "d/sub/",
        ].sorted())

    let f = try #require(all[file])
    #expect(f.header.type == .regular)
    #expect(f.header.mode == 0o640)
    #expect(f.header.uid == 1234 && f.header.gid == 5678)
    #expect(f.header.size == 10 && f.data == Array("hello gnu\n".utf8))
    #expect(f.header.mtimeSeconds == 1_600_000_000 && f.header.mtimeNanoseconds == 0)
    #expect(f.header.xattrs.isEmpty)

    let hard = try #require(all["d/hard"])
    #expect(hard.header.type == .hardlink && hard.header.linkName == file && hard.header.size == 0)
    let link = try #require(all["d/longlink"])
    #expect(link.header.type == .symlink && link.header.linkName == target)
    #expect(link.header.mtimeSeconds == 1_600_000_002)
    let sub = try #require(all["d/sub/"])
    #expect(sub.header.type == .directory && sub.header.mode == 0o2750)
    #expect(sub.header.mtimeSeconds == 1_600_000_001)
  }

  @Test func gnuTarPaxFormatWithXattrs() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    try dir.shell(
      """
      mkdir x && printf data > x/f && setfattr -n user.foo -v bar x/f && setfattr -n user.bin -v 0x00ff0a3d x/f \
      && touch -d @1600000000.123456789 x/f \
      && tar --format=pax --xattrs --xattrs-include='user.*' --owner=3000000 --group=42 -cf pax.tar x/f
      """)
    let raw = try Files.read(dir.path + "/pax.tar")
    #expect(raw[156] == UInt8(ascii: "x"))
    let all = try entries(dir.path + "/pax.tar")
    #expect(all.count == 1)
    let f = try #require(all["x/f"])
    #expect(f.header.type == .regular && f.header.size == 4 && f.data == Array("data".utf8))
    #expect(f.header.mtimeSeconds == 1_600_000_000 && f.header.mtimeNanoseconds == 123_456_789)
    #expect(f.header.uid == 3_000_000 && f.header.gid == 42)
    #expect(f.header.xattrs.map(\.name) == ["user.bin", "user.foo"])
    #expect(f.header.xattrs.map(\.value) == [[0x00, 0xff, 0x0a, 0x3d], Array("bar".utf8)])
  }

  @Test func pythonTarfileDefaultFormat() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let script = """
      import io, tarfile
      def info(name, kind, **kw):
          ti = tarfile.TarInfo(name)
          ti.type = kind
          for k, v in kw.items():
              setattr(ti, k, v)
          return ti
      with tarfile.open('py.tar', 'w') as t:
          data = b'python data'
          t.addfile(info('dir', tarfile.DIRTYPE, mode=0o755, mtime=1000))
          t.addfile(info('dir/\\u00fcn\\u00efcode-\\u30d5\\u30a1\\u30a4\\u30eb.txt', tarfile.REGTYPE, size=len(data),
                         mode=0o640, uid=5000000, gid=7, mtime=1234567890.5), io.BytesIO(data))
          t.addfile(info('dir/link', tarfile.SYMTYPE, linkname='x' * 150))
          t.addfile(info('dir/hard', tarfile.LNKTYPE, linkname='dir/\\u00fcn\\u00efcode-\\u30d5\\u30a1\\u30a4\\u30eb.txt'))
          t.addfile(info('dir/fifo', tarfile.FIFOTYPE, mode=0o600))
          t.addfile(info('dir/tty', tarfile.CHRTYPE, devmajor=4, devminor=64, mode=0o620, gid=5))
          t.addfile(info('p/' + 'q' * 250, tarfile.REGTYPE, size=1), io.BytesIO(b'!'))
      """
    try Files.writeAtomically(dir.path + "/make.py", Array(script.utf8))
    try dir.shell("python3 make.py")
    let all = try entries(dir.path + "/py.tar")
    #expect(all.count == 7)
    let unicodeName = "dir/ünïcode-ファイル.txt"
    let d = try #require(all["dir/"])  // tarfile spells directories with a trailing slash
    #expect(d.header.type == .directory && d.header.mode == 0o755 && d.header.mtimeSeconds == 1000)
    let f = try #require(all[unicodeName])
    #expect(f.header.type == .regular && f.data == Array("python data".utf8) && f.header.size == 11)
    #expect(f.header.mode == 0o640 && f.header.uid == 5_000_000 && f.header.gid == 7)
    #expect(f.header.mtimeSeconds == 1_234_567_890 && f.header.mtimeNanoseconds == 500_000_000)
    #expect(all["dir/link"]?.header.type == .symlink)
    #expect(all["dir/link"]?.header.linkName == String(repeating: "x", count: 150))
    #expect(all["dir/hard"]?.header.type == .hardlink)
    #expect(all["dir/hard"]?.header.linkName == unicodeName)
    #expect(all["dir/fifo"]?.header.type == .fifo && all["dir/fifo"]?.header.mode == 0o600)
    let tty = try #require(all["dir/tty"])
    #expect(tty.header.type == .characterDevice && tty.header.devMajor == 4 && tty.header.devMinor == 64)
    #expect(tty.header.mode == 0o620 && tty.header.gid == 5)
    #expect(all["p/" + String(repeating: "q", count: 250)]?.data == [0x21])
  }

  @Test func gnuTarReadsWhatTarWriterWrites() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let long = String(repeating: "n", count: 120) + "/" + String(repeating: "é", count: 100)
    let archive = try writeArchive([
      (TarHeader(path: "top", type: .directory, mode: 0o755), []),
      (
        TarHeader(path: "top/" + long, mode: 0o600, size: 3, mtimeSeconds: 1_600_000_000, mtimeNanoseconds: 5),
        [1, 2, 3]
      ),
      (TarHeader(path: "top/s", type: .symlink, mode: 0o777, linkName: long), []),
    ])
    try Files.writeAtomically(dir.path + "/w.tar", archive)
    try dir.shell("tar --full-time --numeric-owner -tvf w.tar > list.txt && mkdir out && tar -xf w.tar -C out")
    let listing = String(decoding: try Files.read(dir.path + "/list.txt"), as: UTF8.self)
    #expect(listing.contains("top/" + long))
    #expect(listing.contains("2020-09-13") || listing.contains("2020-09-14"))
    let extracted = try Files.read(dir.path + "/out/top/" + long)
    #expect(extracted == [1, 2, 3])
  }
}
