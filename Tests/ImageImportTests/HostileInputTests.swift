import Foundation
import LinuxSystem
import TestSupport
import Testing

/// Every archive in the `hostile` fixture is refused with one clear line naming the entry and the reason,
/// or (where the case says so) imported with the danger neutralised; nothing lands outside the store, and
/// the store stays valid.
struct HostileInputTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var file: String
    var expect: String
    var note: String
    var testDescription: String { file }
  }

  static let cases: [Case] = {
    guard let text = try? String(contentsOfFile: Fixture.path("hostile/cases.tsv"), encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
      let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      guard f.count >= 2, f[0] != "file", !f[0].hasPrefix("#") else { return nil }
      return Case(file: f[0], expect: f[1], note: f.count > 2 ? f[2] : "")
    }
  }()

  @Test(.enabled(if: Fixture.available("hostile")), arguments: cases)
  func hostileArchive(_ c: Case) throws {
    let tmp = try TempDir("hostile")
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let cwd = tmp.sub("cwd")
    try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: false)
    // A good image first: the store must come out of the failed import as it went in.
    let good = try importImage(Fixture.path("tiny/rootfs.tar.gz"), store: store)
    let before = try storeFiles(store)

    let r = try run(lazyfsBinary, ["import", Fixture.path("hostile/\(c.file)"), "--store", store], cwd: cwd)
    if c.expect.hasPrefix("error:") {
      let reason = String(c.expect.dropFirst("error:".count))
      #expect(r.status != 0, "\(c.file) (\(c.note)) was accepted")
      let lines = r.stderr.split(separator: "\n")
      #expect(lines.count == 1, "expected one line of error, got:\n\(r.stderr)")
      #expect(
        r.stderr.lowercased().contains(reason.lowercased()),
        "error for \(c.file) does not say \"\(reason)\": \(r.stderr)")
      #expect(r.stderr.hasPrefix("lazyfs import: "), "\(r.stderr)")
      #expect(try storeFiles(store) == before, "a refused import changed the store")
    } else {
      #expect(r.status == 0, "\(c.file) (\(c.note)) refused: \(r.stderr)")
    }
    // Nothing written beside the store or in the working directory.
    #expect(try Files.list(cwd).isEmpty)
    #expect(try Files.list(tmp.path).sorted() == ["cwd", "store"])
    #expect(!FileManager.default.fileExists(atPath: "/tmp/escape.txt"))
    #expect(!FileManager.default.fileExists(atPath: "/etc/pwned"))
    let verify = try lazyfs(["verify"], store: store)
    #expect(verify.stdout.hasSuffix("ok\n"))
    #expect(try lazyfs(["inspect", good], store: store).status == 0)
  }

  @Test(.enabled(if: Fixture.available("hostile")))
  func neutralisedCasesHaveTheExpectedContent() throws {
    let tmp = try TempDir("hostile")
    defer { tmp.remove() }
    let store = tmp.sub("store")
    // An absolute path lands inside the image; a duplicate entry's last copy wins (as tar extraction does).
    for (file, path, content) in [
      ("absolute.tar", "etc/absolute-file", "absolute\n"), ("duplicate.tar", "etc/dup", "second\n"),
    ] {
      let digest = try importImage(Fixture.path("hostile/\(file)"), store: store)
      let dest = tmp.sub(file + ".out")
      try lazyfs(["export", digest, dest], store: store)
      #expect(try String(contentsOfFile: "\(dest)/\(path)", encoding: .utf8) == content, "\(file)")
    }
  }

  /// A layer blob whose digest is right but whose descriptor gives another size is refused, as the image
  /// spec requires, and the store is left as it was.
  @Test(.enabled(if: Fixture.available("tiny")))
  func aLayerOfTheWrongSizeIsRefused() throws {
    let tmp = try TempDir("hostile")
    defer { tmp.remove() }
    let layout = tmp.sub("oci")
    try #require(try run("/bin/cp", ["-a", Fixture.path("tiny/oci"), layout]).status == 0)
    // The manifest says the first layer is one byte longer than it is; index.json names the new manifest.
    let script = """
      import hashlib, json, os, sys
      root = sys.argv[1]
      index = json.load(open(f"{root}/index.json"))
      old = index["manifests"][0]["digest"].split(":")[1]
      manifest = json.load(open(f"{root}/blobs/sha256/{old}"))
      manifest["layers"][0]["size"] += 1
      data = json.dumps(manifest).encode()
      new = hashlib.sha256(data).hexdigest()
      open(f"{root}/blobs/sha256/{new}", "wb").write(data)
      index["manifests"][0]["digest"] = "sha256:" + new
      index["manifests"][0]["size"] = len(data)
      json.dump(index, open(f"{root}/index.json", "w"))
      """
    try #require(try run("/usr/bin/python3", ["-c", script, layout]).status == 0)
    let store = tmp.sub("store")
    try importImage(Fixture.path("tiny/rootfs.tar"), store: store)
    let before = try storeFiles(store)
    let r = try run(lazyfsBinary, ["import", layout, "--store", store])
    #expect(r.status == 1)
    #expect(r.stderr.contains("layer 1/") && r.stderr.contains("size mismatch"), "\(r.stderr)")
    #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
    #expect(try storeFiles(store) == before, "the store is as it was")
  }

  @Test func missingAndUnreadableSourcesAreClearErrors() throws {
    let tmp = try TempDir("hostile")
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let r = try run(lazyfsBinary, ["import", tmp.sub("nope.tar"), "--store", store])
    #expect(r.status != 0)
    #expect(r.stderr.contains("nope.tar") && r.stderr.contains("ENOENT"), "\(r.stderr)")
    let empty = tmp.sub("empty.tar")
    #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
    let e = try run(lazyfsBinary, ["import", empty, "--store", store])
    #expect(e.status != 0, "an empty file imported as an image")
    #expect(e.stderr.contains("empty.tar"), "\(e.stderr)")
  }
}

/// The store's committed files and their sizes (tmp/ excluded: it is never read).
func storeFiles(_ store: String) throws -> [String: Int64] {
  var out: [String: Int64] = [:]
  for dir in ["packs", "indexes", "names"] {
    let path = "\(store)/\(dir)"
    guard Files.isDirectory(path) else { continue }
    for name in try Files.list(path) {
      var st = stat()
      if lstat("\(path)/\(name)", &st) == 0 { out["\(dir)/\(name)"] = Int64(st.st_size) }
    }
  }
  return out
}
