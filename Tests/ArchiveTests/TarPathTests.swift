import Archive
import Testing

/// Where entries land inside an image root: normalisation, and refusal of anything that would escape it.
@Suite struct TarPathTests {
  @Test(arguments: [
    ("./usr//bin/", "usr/bin"), ("/etc/x", "etc/x"), ("//etc///x", "etc/x"), (".", ""), ("./", ""), ("/", ""),
    ("", ""), ("a/b/../c", "a/c"), ("a/..", ""), ("a/./b/.", "a/b"), ("usr/bin", "usr/bin"), ("...", "..."),
    ("a/.../b", "a/.../b"), ("..a/b..", "..a/b.."), (".hidden/.x", ".hidden/.x"), ("café/ü", "café/ü"),
  ])
  func normalizes(input: String, expected: String) throws {
    #expect(try TarPath.normalize(input) == expected)
  }

  @Test(arguments: ["..", "../etc/passwd", "a/../../b", "/..", "./a/b/../../..", "a/../.."])
  func rejectsEscapes(input: String) {
    #expect {
      try TarPath.normalize(input)
    } throws: { error in
      let e = error as? ArchiveError
      return e?.reason == "path escapes the image root" && e?.entry == input
    }
  }

  @Test func rejectsLongComponentsAndNUL() throws {
    let ok = "d/" + String(repeating: "x", count: 255)
    #expect(try TarPath.normalize(ok) == ok)
    #expect {
      try TarPath.normalize("d/" + String(repeating: "x", count: 256) + "/", entry: "layer entry")
    } throws: { error in
      let e = error as? ArchiveError
      return e?.reason == "name longer than 255 bytes" && e?.entry == "layer entry"
    }
    #expect(throws: ArchiveError.self) { try TarPath.normalize("a\u{0}b") }
    // 128 two-byte characters are 256 bytes.
    #expect(throws: ArchiveError.self) { try TarPath.normalize(String(repeating: "é", count: 128)) }
  }
}
