import Glibc
import LinuxSystem
import TestSupport
import Testing

/// A symlink whose tar header says 0644 shows as 0777 on the mount, as on any Linux file system.
@Suite struct SymlinkModeTests {
  @Test func symlinksShowAsTheKernelShowsThem() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let script = """
      import sys, tarfile, io
      with tarfile.open(sys.argv[1], "w") as t:
          f = tarfile.TarInfo("file"); f.size = 2; f.mode = 0o640
          t.addfile(f, io.BytesIO(b"hi"))
          l = tarfile.TarInfo("link"); l.type = tarfile.SYMTYPE; l.linkname = "file"; l.mode = 0o644
          t.addfile(l)
      """
    let tar = dir.sub("root.tar")
    try #require(try run("/usr/bin/python3", ["-c", script, tar]).status == 0)
    let imported = try lazyfs(["import", "--store", dir.sub("store"), tar])
    let image = PreparedImage(store: dir.sub("store"), digest: imported.lastLine, export: dir.sub("export"))
    try withMount(image) { mountpoint in
      var st = stat()
      #expect(lstat(mountpoint + "/link", &st) == 0)
      #expect(st.st_mode & S_IFMT == S_IFLNK)
      #expect(st.st_mode & 0o7777 == 0o777, "mode \(String(st.st_mode & 0o7777, radix: 8))")
      #expect(stat(mountpoint + "/file", &st) == 0 && st.st_mode & 0o7777 == 0o640, "other modes are kept")
      let content = try Files.read(mountpoint + "/link")
      #expect(content == Array("hi".utf8))
    }
    let list = try lazyfs(["inspect", "--store", dir.sub("store"), "--list", imported.lastLine])
    let line = list.stdout.split(separator: "\n").first { $0.hasSuffix("/link -> file") }
    #expect(line?.split(separator: " ").dropFirst().first == "644", "the image keeps its header's mode: \(list.stdout)")
  }
}
