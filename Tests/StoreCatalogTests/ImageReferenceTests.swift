import Glibc
import LinuxSystem
import StoreCatalog
import Testing

/// Digests, names and the store's default path: plain values, no root, no store.
@Suite struct ImageReferenceTests {
  static let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

  @Test func digestsParseInEitherCaseWithOrWithoutAlgorithm() throws {
    let lower = try #require(ImageDigest(Self.hex))
    #expect(lower.hex == Self.hex)
    #expect(lower.description == "sha256:" + Self.hex)
    #expect(ImageDigest("sha256:" + Self.hex) == lower)
    #expect(ImageDigest(Self.hex.uppercased()) == lower, "upper-case hex is the same digest, kept lower-case")
    #expect(ImageDigest("sha256:" + Self.hex.uppercased())?.hex == Self.hex)
  }

  @Test(arguments: [
    "", "sha256:", "abc", String(hex.dropLast()), hex + "0", "sha512:" + hex,
    "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", " " + String(hex.dropFirst()),
  ])
  func notDigests(_ text: String) {
    #expect(ImageDigest(text) == nil)
  }

  @Test(arguments: ["debian:bookworm", "team/app:1.2", "a", "registry.example/x/y@sha256-1", "a..b", "v_1-2"])
  func validNames(_ name: String) throws {
    let parsed = try #require(ImageName(name))
    #expect(ImageName(fileName: parsed.fileName) == parsed, "one file per name, and back")
    #expect(!parsed.fileName.contains("/"))
  }

  @Test(arguments: [
    "", "../x", "/abs", "x/", "a/../b", "./a", "..", ".", "a/./b", "a//b", "sp ace", "semi;colon", "new\nline",
    "%2F", "ü", ".tmp-x", "team/.hidden", String(repeating: "a", count: 201), hex, "sha256:" + hex,
    hex.uppercased(),
  ])
  func invalidNames(_ name: String) {
    #expect(ImageName(name) == nil)
  }

  /// A writer's temporary file in the names directory is never read as a name.
  @Test func temporaryFilesAreNotNames() {
    #expect(ImageName(fileName: ".tmp-abc") == nil)
    #expect(ImageName(fileName: "team%2Fapp:1") == ImageName("team/app:1"))
  }

  @Test func theStorePathIsTheFlagElseTheDefaultAndAlwaysAbsolute() throws {
    #expect(StoreLocation.path("/srv/store") == "/srv/store")
    let cwd = try #require(getcwd(nil, 0))
    defer { free(cwd) }
    let here = String(cString: cwd)
    #expect(StoreLocation.path("rel/store") == (here == "/" ? "" : here) + "/rel/store")
    #expect(StoreLocation.path("./rel") == (here == "/" ? "" : here) + "/rel")
    let env = getenv("LAZYFS_STORE").map { String(cString: $0) }
    let expected = (env?.isEmpty == false ? env! : "/var/lib/lazyfs")
    #expect(StoreLocation.path(nil) == StoreLocation(root: expected).root)
    #expect(StoreLocation.path(nil).hasPrefix("/"))
  }

  @Test func aLocationNamesEveryFileOfTheLayout() throws {
    let location = StoreLocation(root: "/s")
    let digest = try #require(ImageDigest(Self.hex))
    #expect(location.indexPath(digest) == "/s/indexes/" + Self.hex)
    #expect(location.namePath(try #require(ImageName("team/app:1"))) == "/s/names/team%2Fapp:1")
    #expect(location.layoutFile == "/s/layout")
    #expect(location.directories == ["/s", "/s/packs", "/s/tmp", "/s/indexes", "/s/names"])
  }
}
