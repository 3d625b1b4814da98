import Glibc
import LinuxSystem
import NodeConfigFile
import StoreCatalog
import TestSupport
import Testing

@Suite("The node configuration, lazyfs.toml")
struct NodeConfigTests {
  let file = "/etc/lazyfs/lazyfs.toml"

  @Test("every key, sizes as numbers or with units")
  func everyKey() throws {
    let config = try NodeConfigFile.parse(
      """
      # a node
      store = "/srv/lazyfs"
      [remote]
      url = "https://cdn.example/lazyfs"
      cache = "/var/cache/x"
      cache-max = "20G"
      [prefetch]
      enabled = false
      budget = 1048576
      """, file: file)
    #expect(config.store == "/srv/lazyfs")
    #expect(config.remoteURL == "https://cdn.example/lazyfs")
    #expect(config.remoteCache == "/var/cache/x")
    #expect(config.remoteCacheMaxBytes == 20 << 30)
    #expect(config.prefetchEnabled == false)
    #expect(config.prefetchBudgetBytes == 1 << 20)
    #expect(try NodeConfig(json: config.json) == config, "what lazyfs-config prints reads back the same")
    #expect(try NodeConfigFile.parse("", file: file) == NodeConfig())
  }

  @Test(
    "a mistake names the file, the line and the key",
    arguments: [
      ("store = 5\n", "line 1: key store: expected a non-empty string"),
      ("store = \"relative/dir\"\n", "line 1: key store: expected an absolute path"),
      ("[remote]\nurl = \"ftp://x\"\n", "line 2: key remote.url: expected an http:// or https:// URL"),
      ("[remote]\nurl = \"http://x\"\ncahce = \"/a\"\n", "line 3: key remote.cahce: unknown key"),
      ("[prefetch]\nbudget = \"lots\"\n", "line 2: key prefetch.budget: expected a positive size"),
      ("[prefetch]\nenabled = \"yes\"\n", "line 2: key prefetch.enabled: expected true or false"),
      ("remote = 1\n", "line 1: key remote: expected a table"),
      ("storage = \"/x\"\n", "line 1: key storage: unknown key"),
      ("[remote\n", "line 1: "),
      ("store = \"/a\"\nstore = \"/b\"\n", "line 2: "),
    ])
  func mistakes(text: String, expected: String) throws {
    do {
      _ = try NodeConfigFile.parse(text, file: file)
      Issue.record("\(text) was accepted")
    } catch {
      #expect(error.description.hasPrefix("node configuration \(file): \(expected)"), "\(error)")
    }
  }

  @Test(
    "lazyfs takes the store from LAZYFS_CONFIG, a flag overrides it, and a bad file stops it with one line",
    .enabled(if: Files.exists(lazyfsBinary) && Fixture.available("tiny")))
  func lazyfsReadsIt() throws {
    let dir = try TempDir("node-config")
    defer { dir.remove() }
    let store = dir.sub("store")
    let imported = try run(
      lazyfsBinary, ["import", "--store", store, "--name", "tiny", Fixture.path("tiny/rootfs.tar")])
    try #require(imported.status == 0, "\(imported.stderr)")
    let good = dir.sub("good.toml")
    try Files.writeAtomically(good, Array("store = \"\(store)\"\n".utf8))
    let listed = try run("/usr/bin/env", ["LAZYFS_CONFIG=\(good)", lazyfsBinary, "images"])
    #expect(listed.status == 0 && listed.stdout.contains("tiny"), "\(listed)")
    let flagged = try run(
      "/usr/bin/env", ["LAZYFS_CONFIG=\(good)", lazyfsBinary, "images", "--store", dir.sub("none")])
    #expect(flagged.status == 1 && flagged.stderr.contains(dir.sub("none")), "the flag wins: \(flagged)")

    // Changed in place: read again, not taken from what an earlier run kept.
    try Files.writeAtomically(good, Array("store = \"\(store)\"\n[remote]\nurll = \"http://x\"\n".utf8))
    let bad = try run("/usr/bin/env", ["LAZYFS_CONFIG=\(good)", lazyfsBinary, "images"])
    #expect(bad.status == 1)
    #expect(
      bad.stderr
        == "lazyfs images: node configuration \(good): line 3: key remote.urll: unknown key (known here: cache, cache-max, timeout, url)\n"
    )
    let missing = try run("/usr/bin/env", ["LAZYFS_CONFIG=\(dir.sub("nope.toml"))", lazyfsBinary, "images"])
    #expect(missing.status == 1 && missing.stderr.contains("nope.toml") && missing.stderr.contains("ENOENT"))
    let umount = try run("/usr/bin/env", ["LAZYFS_CONFIG=\(good)", lazyfsBinary, "umount", dir.path])
    #expect(!umount.stderr.contains("node configuration"), "umount does not need it: \(umount.stderr)")
  }

}
