// Containers whose image only a remote has (annotation org.lazyfs.remote): the python fixture published
// and served by a real nginx on loopback, a node with no store at all, and nothing left once deleted.
import Foundation
import OCISpec
import TestSupport
import Testing

@Suite(
  "lazyfs roots from a remote (root, real containers, nginx)", .serialized,
  .enabled(if: LazyFixture.available, "no python fixture or lazyfs"))
struct RemoteRootTests {
  /// The python image published into a directory and served; a store path that does not exist (a node
  /// that has never seen an image) and a remote cache of the test's own.
  final class Remote {
    let scratch: TempDir
    let nginx: Nginx
    let digest: String
    var emptyStore: String { scratch.sub("no-store") }
    var cache: String { scratch.sub("cache") }

    init() throws {
      scratch = try TempDir("remote-root")
      let store = try LazyFixture.store.get()
      let lazyfs = LazyFixture.binDirectory + "/lazyfs"
      let published = runProcess(lazyfs, ["publish", "--store", store, "python", scratch.sub("published")])
      guard published.status == 0 else { throw TestFailure("publish: \(published)") }
      let resolved = runProcess(lazyfs, ["resolve", "--store", store, "python"])
      digest = resolved.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      try FileManager.default.createDirectory(atPath: scratch.sub("nginx"), withIntermediateDirectories: false)
      nginx = try Nginx(serving: scratch.sub("published"), scratch: scratch.sub("nginx"))
    }

    deinit {
      nginx.stop()
      scratch.remove()
    }

    /// crun-fast with the remote cache in the test's directory.
    func crunFast(_ c: TestContainer, _ arguments: String...) -> CommandResult {
      runProcess("/usr/bin/env", ["LAZYFS_REMOTE_CACHE=\(cache)", Paths.binary, "--root", c.root] + arguments)
    }
  }

  func container(_ name: String, image: String, remote: Remote, root: String? = nil) throws -> TestContainer {
    let script = "import numpy; print(numpy.arange(6).sum())"
    let c = try TestContainer(name, args: ["/usr/bin/python3", "-c", script], root: root)
    c.spec.annotations = [
      Spec.lazyImageAnnotation: image, Spec.lazyStoreAnnotation: remote.emptyStore,
      Spec.lazyRemoteAnnotation: remote.nginx.url,
    ]
    c.spec.root?.path = nil
    try c.writeConfig()
    return c
  }

  @Test(arguments: ["digest", "name"])
  func anImageOnlyTheRemoteHasRuns(by reference: String) throws {
    let remote = try Remote()
    let image = reference == "digest" ? remote.digest : "python"
    let c = try container("remote-\(reference)", image: image, remote: remote)
    defer { c.cleanup() }
    let result = remote.crunFast(c, "run", "--bundle", c.bundle, c.id)
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "15\n")
    #expect(!FileManager.default.fileExists(atPath: remote.emptyStore), "no local store was made")
    let cached = (try? FileManager.default.contentsOfDirectory(atPath: remote.cache)) ?? []
    #expect(cached.contains { $0.hasPrefix("index-") }, "fetched through the test's cache: \(cached)")
    #expect(c.rootMounts.isEmpty, "\(c.rootMounts)")
    #expect(c.processesOnRoot.isEmpty, "\(c.processesOnRoot)")
    #expect(!c.stateDirectoryExists)
  }

  /// Two containers on a remote image at once share one mount of it, as for a local image.
  @Test func twoContainersShareOneMount() throws {
    let remote = try Remote()
    let a = try container("remote-a", image: remote.digest, remote: remote)
    defer { a.cleanup() }
    let b = try container("remote-b", image: "python", remote: remote, root: a.root)
    defer { b.cleanup() }
    #expect(remote.crunFast(a, "create", "--bundle", a.bundle, a.id).status == 0)
    #expect(remote.crunFast(b, "create", "--bundle", b.bundle, b.id).status == 0)
    #expect(a.imageMounts.count == 1, "one mount for both: \(a.rootMounts)")
    #expect(remote.crunFast(a, "delete", "--force", a.id).status == 0)
    #expect(a.imageMounts.count == 1, "still used by the other: \(a.rootMounts)")
    #expect(remote.crunFast(b, "delete", "--force", b.id).status == 0)
    #expect(a.rootMounts.isEmpty, "\(a.rootMounts)")
  }

  /// A name the remote does not publish, or a remote that is not there: one clear line, nothing left.
  @Test func anUnknownNameOrADeadRemoteIsAClearError() throws {
    let remote = try Remote()
    let unknown = try container("remote-unknown", image: "no-such-image", remote: remote)
    defer { unknown.cleanup() }
    let result = remote.crunFast(unknown, "create", "--bundle", unknown.bundle, unknown.id)
    #expect(result.status == 1)
    #expect(result.stderr.contains("no-such-image") && result.stderr.contains(remote.nginx.url), "\(result)")
    #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    #expect(!unknown.stateDirectoryExists && unknown.rootMounts.isEmpty)

    remote.nginx.stop()
    let dead = try container("remote-dead", image: remote.digest, remote: remote)
    defer { dead.cleanup() }
    let failed = remote.crunFast(dead, "create", "--bundle", dead.bundle, dead.id)
    #expect(failed.status == 1, "\(failed)")
    #expect(failed.stderr.contains("lazyfs root"), "\(failed)")
    #expect(!dead.stateDirectoryExists && dead.rootMounts.isEmpty)
  }

  /// The node configuration names the store and the remote; the bundle names only the image, and asks
  /// for its start to be recorded: the profile lands beside the remote cache (the node has no store),
  /// and the next container's mount replays it.
  @Test func theNodeConfigurationSuppliesTheRemoteAndARecordedProfileIsReplayed() throws {
    let remote = try Remote()
    let config = remote.scratch.sub("lazyfs.toml")
    try Data("store = \"\(remote.emptyStore)\"\n[remote]\nurl = \"\(remote.nginx.url)\"\n".utf8).write(
      to: URL(fileURLWithPath: config))
    func configured(_ c: TestContainer, _ arguments: String...) -> CommandResult {
      runProcess(
        "/usr/bin/env",
        ["LAZYFS_CONFIG=\(config)", "LAZYFS_REMOTE_CACHE=\(remote.cache)", Paths.binary, "--root", c.root] + arguments)
    }
    let first = try container("config-record", image: remote.digest, remote: remote)
    defer { first.cleanup() }
    first.spec.annotations = [Spec.lazyImageAnnotation: remote.digest, Spec.lazyRecordAnnotation: "true"]
    try first.writeConfig()
    let recorded = configured(first, "run", "--bundle", first.bundle, first.id)
    #expect(recorded.status == 0 && recorded.stdout == "15\n", "\(recorded)")
    let profile = remote.cache + "/profiles/" + remote.digest.dropFirst(7)
    #expect(FileManager.default.fileExists(atPath: profile), "saved when the image was unmounted")

    let second = try container("config-replay", image: remote.digest, remote: remote, root: first.root)
    defer { second.cleanup() }
    second.spec.annotations = [Spec.lazyImageAnnotation: remote.digest]
    try second.writeConfig()
    #expect(configured(second, "create", "--bundle", second.bundle, second.id).status == 0)
    let mount = try #require(second.imageMounts.first)
    let stats = runProcess(LazyFixture.binDirectory + "/lazyfs", ["stats", "--json", mount])
    #expect(stats.stdout.contains("\"profile\" : \"sha256:"), "the mount replays the profile: \(stats.stdout)")
    #expect(configured(second, "delete", "--force", second.id).status == 0)

    let bad = try container("config-bad", image: remote.digest, remote: remote, root: first.root)
    defer { bad.cleanup() }
    bad.spec.annotations = [Spec.lazyImageAnnotation: remote.digest, Spec.lazyRecordAnnotation: "yes"]
    try bad.writeConfig()
    let refused = configured(bad, "create", "--bundle", bad.bundle, bad.id)
    #expect(refused.status == 1 && refused.stderr.contains("org.lazyfs.record"), "\(refused)")
    #expect(!bad.stateDirectoryExists && bad.rootMounts.isEmpty)
  }
}
