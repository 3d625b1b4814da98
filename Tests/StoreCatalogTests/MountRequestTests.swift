import StoreCatalog
import Testing

/// The mount request crosses process boundaries as argv only: what `arguments` writes, `init?(arguments:)`
/// reads back as the same value, and anything unusual is left to the full parser.
@Suite struct MountRequestTests {
  static func sample(_ change: (inout MountRequest) -> Void) -> MountRequest {
    var request = MountRequest(store: "/s", image: "sha256:" + String(repeating: "a", count: 64), mountpoint: "/m")
    change(&request)
    return request
  }

  static let requests: [MountRequest] = [
    sample { _ in },
    sample {
      $0.allowOther = true
      $0.setuid = true
    },
    sample {
      $0.foreground = true
      $0.logFile = "/var/log/lazyfs.log"
      $0.cacheMib = 128
      $0.readaheadKb = 0
      $0.ioUring = false
    },
    sample {
      $0.remote = "http://127.0.0.1:8080/store"
      $0.remoteCache = "/cache"
      $0.remoteCacheMaxBytes = 512 << 20
      $0.image = "team/app:1"
    },
    sample {
      $0.image = "-looks-like-an-option"
      $0.mountpoint = "/with space/and=equals"
    },
    // Values that start with '-' (an annotation's URL, a file name) stay values.
    sample {
      $0.remote = "-remote"
      $0.logFile = "--log"
      $0.remoteCache = "-cache=x"
    },
  ]

  @Test(arguments: requests)
  func argumentsRoundTrip(_ request: MountRequest) throws {
    let decoded = try #require(MountRequest(arguments: request.arguments))
    #expect(decoded == request)
  }

  @Test func theUsualHandWrittenShapesRead() throws {
    let request = try #require(
      MountRequest(arguments: [
        "--store=/s", "--cache-max", "2G", "--readahead-kb=256", "--allow-other", "img", "/mnt",
      ]))
    #expect(request.store == "/s" && request.image == "img" && request.mountpoint == "/mnt")
    #expect(request.remoteCacheMaxBytes == 2 << 30 && request.readaheadKb == 256 && request.allowOther)
    #expect(request.effectiveReadaheadKb == 256)
    #expect(MountRequest(arguments: ["img", "/mnt"])?.effectiveReadaheadKb == 1024)
    #expect(MountRequest(arguments: ["--remote", "http://x", "img", "/mnt"])?.effectiveReadaheadKb == 0)
  }

  @Test(arguments: [
    ["img"], ["a", "b", "c"], ["-h", "img", "/m"], ["--help"], ["--bogus", "img", "/m"],
    ["--store", "/a", "--store", "/b", "img", "/m"], ["--setuid", "--setuid", "img", "/m"],
    ["--cache-mib", "many", "img", "/m"], ["--cache-max", "lots", "img", "/m"], ["--store", "--setuid", "img", "/m"],
    ["--store=", "img", "/m"], ["--setuid=yes", "img", "/m"],
  ])
  func unusualShapesAreLeftToTheFullParser(_ arguments: [String]) {
    #expect(MountRequest(arguments: arguments) == nil)
  }

  @Test func outOfRangeValuesAreNamedByOption() {
    let bad: [(MountRequest, String)] = [
      (Self.sample { $0.cacheMib = 0 }, "--cache-mib must be positive"),
      (Self.sample { $0.readaheadKb = -1 }, "--readahead-kb must not be negative"),
      (Self.sample { $0.remoteCacheMaxBytes = 0 }, "--cache-max must be positive"),
    ]
    for (request, message) in bad {
      #expect(throws: MountRequestError.self) { try request.validate() }
      #expect((try? request.validate()) == nil)
      do {
        try request.validate()
      } catch {
        #expect(error.description == message)
      }
    }
    #expect(throws: Never.self) { try Self.sample { _ in }.validate() }
  }

  @Test(
    arguments: [
      ("4096", 4096), ("512K", 512 << 10), ("20g", 20 << 30), ("1TB", 1 << 40), ("0", 0),
    ] as [(String, Int64)])
  func sizesParse(_ text: String, _ bytes: Int64) {
    #expect(MountRequest.parseSize(text) == bytes)
  }

  @Test(arguments: ["", "G", "-1", "1.5G", "1P", "99999999999T"])
  func notSizes(_ text: String) {
    #expect(MountRequest.parseSize(text) == nil)
  }
}
