import Foundation
import Glibc
import JSON
import LazyFS
import LinuxSystem
import StoreCatalog
import Synchronization
import TestSupport
import Testing

/// Mounting, unmounting and dying: no way of ending a mount may leave one behind.
@Suite("Mount lifecycle", .enabled(if: Fixture.available("tiny")))
struct LifecycleTests {
  @Test(
    "unmount while reads are in flight ends cleanly and the mount point is usable after",
    arguments: Transport.available)
  func unmountDuringReads(transport: Transport) throws {
    let image = try PreparedImage.tiny.get()
    let want = try Files.read(image.export + "/srv/big-50M")
    let dir = try TempDir()
    defer { dir.remove() }
    let mountpoint = try dir.directory("mnt")
    try lazyfsMount(["--store", image.store, image.digest, mountpoint], transport: transport)
    defer { forceUnmount(mountpoint) }
    let daemon = try statistics(mountpoint).pid

    let stop = Atomic<Bool>(false)
    let good = Atomic<Int>(0)
    let wrong = Atomic<Int>(0)
    let unmount = Thread {
      usleep(300_000)
      let r = try? run(lazyfsBinary, ["umount", "--lazy", mountpoint])
      #expect(r?.status == 0, "\(r?.stderr ?? "")")
      usleep(300_000)
      stop.store(true, ordering: .relaxed)
    }
    unmount.start()
    onThreads(8) { thread in
      var random = SplitMix64(seed: UInt64(thread + 1))
      while !stop.load(ordering: .relaxed) {
        let offset = Int64.random(in: 0..<Int64(want.count), using: &random)
        // After the detach the path no longer leads into the mount: the open fails, which is fine.
        guard let bytes = try? readAt(mountpoint + "/srv/big-50M", offset, 1 << 20) else { continue }
        let expected = want[Int(offset)..<min(want.count, Int(offset) + (1 << 20))]
        if bytes[...] == expected {
          good.add(1, ordering: .relaxed)
        } else {
          wrong.add(1, ordering: .relaxed)
        }
      }
    }
    while !unmount.isFinished { usleep(1000) }
    #expect(good.load(ordering: .relaxed) > 0)
    #expect(wrong.load(ordering: .relaxed) == 0)
    #expect(waitUntil(seconds: 10) { !isMounted(mountpoint) })
    #expect(waitUntil(seconds: 10) { processExited(daemon) }, "the daemon is still running")
    #expect(try Files.list(mountpoint).isEmpty)
    // And the same path mounts again.
    try lazyfs(["mount", "--store", image.store, image.digest, mountpoint])
    #expect(try readAt(mountpoint + "/etc/passwd", 0, 100) == (try readAt(image.export + "/etc/passwd", 0, 100)))
    try lazyfs(["umount", mountpoint])
    #expect(!isMounted(mountpoint))
  }

  /// The kernel hands a new FUSE mount the device number (and mount ID) of one just removed; the old
  /// daemon and its watcher, still ending, must not take the new mount for theirs and unmount it. The old
  /// daemon is stopped across the detach and the new mount, so that it ends only after the new mount is
  /// there, as a slow daemon would.
  @Test("a mount made right after a lazy unmount on the same path stays mounted")
  func remountAfterLazyUnmount() throws {
    let image = try PreparedImage.tiny.get()
    let want = try contentHash(image.export + "/etc/passwd")
    let dir = try TempDir()
    defer { dir.remove() }
    let mountpoint = try dir.directory("mnt")
    defer { forceUnmount(mountpoint) }
    try lazyfs(["mount", "--store", image.store, image.digest, mountpoint])
    let old = try statistics(mountpoint)
    #expect(kill(old.pid, SIGSTOP) == 0)
    #expect(umount2(mountpoint, Int32(MNT_DETACH)) == 0)
    try lazyfs(["mount", "--store", image.store, image.digest, mountpoint])
    #expect(kill(old.pid, SIGCONT) == 0)
    #expect(waitUntil(seconds: 10) { processExited(old.pid) })
    if let helper = old.unmountHelperPid { #expect(waitUntil(seconds: 10) { processExited(helper) }) }
    #expect(isMounted(mountpoint))
    #expect(try contentHash(mountpoint + "/etc/passwd") == want)
    #expect(try statistics(mountpoint).pid != old.pid)
  }

  @Test("a busy mount is refused by a plain umount and kept working")
  func busyUnmount() throws {
    let image = try PreparedImage.tiny.get()
    try withMount(image) { mountpoint in
      let fd = try FileDescriptor.open(mountpoint + "/etc/passwd", O_RDONLY)
      let r = try run(lazyfsBinary, ["umount", mountpoint])
      #expect(r.status != 0 && r.stderr.contains("EBUSY"), "\(r.stderr)")
      #expect(isMounted(mountpoint))
      #expect(try !pread(fd.raw, 0, 10).isEmpty)
      fd.close()
      let daemon = try statistics(mountpoint).pid
      try lazyfs(["umount", mountpoint])
      #expect(!isMounted(mountpoint))
      #expect(processExited(daemon), "umount returned before the daemon exited")
    }
  }

  @Test("SIGKILL of the daemon leaves no hung mount point, and the path mounts again", arguments: Transport.available)
  func killedDaemon(transport: Transport) throws {
    let image = try PreparedImage.tiny.get()
    let dir = try TempDir()
    defer { dir.remove() }
    let mountpoint = try dir.directory("mnt")
    try lazyfsMount(["--store", image.store, image.digest, mountpoint], transport: transport)
    defer { forceUnmount(mountpoint) }
    let s = try statistics(mountpoint)
    #expect(s.unmountHelperPid != nil)
    #expect(kill(s.pid, SIGKILL) == 0)
    #expect(waitUntil(seconds: 10) { !isMounted(mountpoint) }, "auto_unmount did not unmount")
    if let helper = s.unmountHelperPid { #expect(waitUntil(seconds: 10) { processExited(helper) }) }
    var st = stat()
    #expect(stat(mountpoint, &st) == 0, "the mount point is not usable: \(Errno.current)")
    #expect(try Files.list(mountpoint).isEmpty)
    try lazyfs(["mount", "--store", image.store, image.digest, mountpoint])
    #expect(try contentHash(mountpoint + "/bin/busybox") == (try contentHash(image.export + "/bin/busybox")))
    try lazyfs(["umount", mountpoint])
    #expect(!isMounted(mountpoint))
  }

  @Test("only root gets in, unless --allow-other", .enabled(if: Files.exists("/usr/bin/setpriv")))
  func allowOther() throws {
    let image = try PreparedImage.tiny.get()
    let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/cat"]
    try withMount(image) { mountpoint in
      chmod(Files.dirname(of: mountpoint), 0o755)
      let r = try run("/usr/bin/setpriv", asNobody + [mountpoint + "/etc/passwd"])
      #expect(r.status != 0 && r.stderr.contains("Permission denied"), "\(r.stderr)")
    }
    try withMount(image, extra: ["--allow-other"]) { mountpoint in
      chmod(Files.dirname(of: mountpoint), 0o755)  // mkdtemp's 0700 would stop nobody before the mount
      let r = try run("/usr/bin/setpriv", asNobody + [mountpoint + "/etc/passwd"])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(Array(r.stdout.utf8) == (try Files.read(image.export + "/etc/passwd")))
    }
  }

  @Test("SIGTERM makes the daemon unmount and exit", arguments: Transport.available)
  func terminatedDaemon(transport: Transport) throws {
    let image = try PreparedImage.tiny.get()
    try withMount(image, transport: transport) { mountpoint in
      let pid = try statistics(mountpoint).pid
      _ = try contentHash(mountpoint + "/bin/busybox")
      #expect(kill(pid, SIGTERM) == 0)
      #expect(waitUntil(seconds: 10) { !isMounted(mountpoint) })
      #expect(waitUntil(seconds: 10) { processExited(pid) })
    }
  }

  @Test(
    "requests come over io_uring where the kernel offers it, and over /dev/fuse with --no-io-uring",
    .enabled(if: Files.exists(UringSwitch.path)))
  func transport() throws {
    let image = try PreparedImage.tiny.get()
    try withMount(image, transport: .ioUring) { mountpoint in
      #expect(try contentHash(mountpoint + "/bin/busybox") == (try contentHash(image.export + "/bin/busybox")))
      let s = try statistics(mountpoint)
      #expect(s.transport == "io_uring" && s.ringRequests ?? 0 > 0)
      #expect(try lazyfs(["stats", mountpoint]).stdout.contains("transport    io_uring ("))
    }
    try withMount(image, extra: ["--no-io-uring"]) { mountpoint in
      let s = try statistics(mountpoint)
      #expect(s.transport == "/dev/fuse" && s.ringRequests == nil)
    }
    let dir = try TempDir()
    defer { dir.remove() }
    let mountpoint = try dir.directory("mnt")
    try lazyfsMount(["--no-io-uring", "--store", image.store, image.digest, mountpoint], transport: .ioUring)
    defer { forceUnmount(mountpoint) }
    #expect(try statistics(mountpoint).transport == "/dev/fuse")
  }

  @Test("lazyfs stats reports the mount, in JSON and in words")
  func statsCommand() throws {
    let image = try PreparedImage.tiny.get()
    try withMount(image) { mountpoint in
      _ = try contentHash(mountpoint + "/etc/passwd")
      let json = try lazyfs(["stats", "--json", mountpoint])
      // Read by Foundation, independently of the JSON module that wrote it; then by the mount's own reader.
      let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      #expect(object["image"] as? String == image.digest)
      #expect((object["bytesRead"] as? Int ?? 0) > 0)
      #expect((object["loadLatencyMicroseconds"] as? [String: Any])?["p99"] is Int)
      #expect(object["remote"] == nil, "absent, not null, without --remote")
      let s = try MountStatistics(json: JSONValue(parsing: Array(json.stdout.utf8)))
      #expect(Int(s.bytesRead) == object["bytesRead"] as? Int && s.pid == object["pid"] as? Int32)
      #expect(s.image == image.digest)
      #expect(s.mountpoint == mountpoint)
      #expect(s.bytesRead > 0 && s.chunkLoads > 0 && s.chunksLoaded <= s.chunksTotal)
      #expect(s.loadLatencyMicroseconds.count == s.chunkLoads)
      let text = try lazyfs(["stats", mountpoint])
      #expect(text.stdout.contains("fetched") && text.stdout.contains(image.digest))
      // The statistics are not one of the image's xattrs.
      #expect(try ExtendedAttributes.list(mountpoint).allSatisfy { !$0.name.contains("lazyfs.stats") })
    }
  }
}

/// Bad input: one clear line on stderr, a non-zero status, and nothing mounted.
@Suite("Mount errors", .enabled(if: Fixture.available("tiny")))
struct MountErrorTests {
  enum Case: String, CaseIterable, Sendable {
    case unknownImage, missingMountpoint, mountpointIsFile, noFuseDevice, unmountNotAMount, statsNotAMount
  }

  @Test("bad input is refused in one line", arguments: Case.allCases)
  func badInput(_ c: Case) throws {
    let image = try PreparedImage.tiny.get()
    let dir = try TempDir()
    defer { dir.remove() }
    let mountpoint = try dir.directory("mnt")
    let file = dir.sub("file")
    try Files.writeAtomically(file, [1])
    var arguments: [String]
    var program = lazyfsBinary
    let expected: [String]
    switch c {
    case .unknownImage:
      arguments = ["mount", "--store", image.store, "no-such-image", mountpoint]
      expected = ["lazyfs mount:", "no image matches"]
    case .missingMountpoint:
      arguments = ["mount", "--store", image.store, image.digest, dir.sub("absent")]
      expected = ["lazyfs mount:", "absent", "ENOENT"]
    case .mountpointIsFile:
      arguments = ["mount", "--store", image.store, image.digest, file]
      expected = ["lazyfs mount:", "not a directory"]
    case .noFuseDevice:
      // A private mount namespace whose /dev is an empty tmpfs: /dev/fuse is missing there only.
      program = "/usr/bin/unshare"
      arguments = [
        "--mount", "--propagation", "private", "/bin/sh", "-c", "mount -t tmpfs none /dev && exec \"$0\" \"$@\"",
        lazyfsBinary, "mount", "--store", image.store, image.digest, mountpoint,
      ]
      expected = ["lazyfs mount:", "/dev/fuse", "ENOENT"]
    case .unmountNotAMount:
      arguments = ["umount", mountpoint]
      expected = ["lazyfs umount:", "not a lazyfs mount"]
    case .statsNotAMount:
      arguments = ["stats", mountpoint]
      expected = ["lazyfs stats:", "not a lazyfs mount"]
    }
    let r = try run(program, arguments)
    defer { forceUnmount(mountpoint) }
    #expect(r.status != 0)
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count == 1, "\(r.stderr)")
    for part in expected { #expect(r.stderr.contains(part), "\(r.stderr)") }
    #expect(!isMounted(mountpoint))
  }

  /// `mount` and `umount` lines of the usual shape are read without ArgumentParser (`FastPath`); every
  /// other shape goes to ArgumentParser. Both must mean the same: `=` and separate values, `--`, flags in
  /// any place, and ArgumentParser's own errors for what the fast path does not take.
  @Test("mount and umount read their command lines as ArgumentParser does")
  func commandLineShapes() throws {
    let image = try PreparedImage.tiny.get()
    let dir = try TempDir()
    defer { dir.remove() }
    let mountpoint = try dir.directory("mnt")
    let shapes: [[String]] = [
      ["mount", "--store=\(image.store)", image.digest, mountpoint],
      ["mount", "--cache-mib", "16", "--store", image.store, "--readahead-kb=0", "--", image.digest, mountpoint],
      ["mount", image.digest, "--store", image.store, mountpoint, "--cache-max=1G"],
      // Short and repeated options are ArgumentParser's to read.
      ["mount", "--store", image.store, "--cache-mib", "8", "--cache-mib", "16", image.digest, mountpoint],
    ]
    for shape in shapes {
      let r = try run(lazyfsBinary, shape)
      #expect(r.status == 0, "\(shape): \(r.stderr)")
      #expect(isMounted(mountpoint), "\(shape)")
      let unmount = try run(lazyfsBinary, ["umount", "--lazy", "--", mountpoint])
      #expect(unmount.status == 0, "\(unmount.stderr)")
      #expect(!isMounted(mountpoint))
    }
    let refused: [(arguments: [String], says: String)] = [
      (["mount", "--store", image.store, "--bogus", image.digest, mountpoint], "Unknown option '--bogus'"),
      (["mount", "--store", image.store, "--cache-mib", "x", image.digest, mountpoint], "--cache-mib"),
      (["mount", "--store", image.store, image.digest], "Missing expected argument"),
      (["mount", "--store", "--foreground", image.digest, mountpoint], "--store"),
      (["umount", mountpoint, mountpoint], "Unexpected argument"),
    ]
    for (arguments, says) in refused {
      let r = try run(lazyfsBinary, arguments)
      #expect(r.status != 0, "\(arguments)")
      #expect(r.stderr.contains(says), "\(arguments): \(r.stderr)")
      #expect(!isMounted(mountpoint))
    }
    let help = try run(lazyfsBinary, ["mount", "--help"])
    #expect(help.status == 0 && help.stdout.contains("USAGE: lazyfs mount"), "\(help.stdout)")
  }

  @Test("a second mount on a lazyfs mount point is refused")
  func mountOnMount() throws {
    let image = try PreparedImage.tiny.get()
    try withMount(image) { mountpoint in
      let r = try run(lazyfsBinary, ["mount", "--store", image.store, image.digest, mountpoint])
      #expect(r.status != 0)
      #expect(r.stderr.contains("already a lazyfs mount"), "\(r.stderr)")
      #expect(try MountTable.mounts().filter { $0.target == mountpoint }.count == 1)
    }
  }
}

/// Whether `pid` has exited (gone, or a zombie no one has reaped yet).
func processExited(_ pid: Int32) -> Bool {
  guard let bytes = try? Files.read("/proc/\(pid)/stat") else { return true }
  let text = String(decoding: bytes, as: UTF8.self)
  guard let close = text.lastIndex(of: ")") else { return true }
  let state = text[text.index(close, offsetBy: 2)]
  return state == "Z" || state == "X"
}

/// A mount's errors keep their cause: the errno of the failed call is there for a caller to test.
@Suite struct MountErrorCauseTests {
  @Test func aMissingMountPointKeepsItsErrno() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let request = MountRequest(store: dir.sub("store"), image: "x", mountpoint: dir.sub("absent"))
    let error = #expect(throws: MountError.self) { try Mounter.prepare(request) }
    #expect(error?.systemError?.errno == .ENOENT, "\(String(describing: error))")
    #expect(error?.description.hasPrefix("mount point \"\(dir.sub("absent"))\": stat(") == true)
  }
}
