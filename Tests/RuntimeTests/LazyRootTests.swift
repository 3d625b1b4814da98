// Containers whose root is a lazyfs image (annotation org.lazyfs.image): the python fixture imported into a
// store of the test's own, run with an overlay on the lazyfs mount, and nothing left once deleted.
import Foundation
import OCISpec
import TestSupport
import Testing

/// The lazyfs side of these tests: the binary, the fixture, and a store with the python image in it.
enum LazyFixture {
  /// `$LAZYFS_BIN` (the build directory, as `make test` sets it), else the directory crun-fast is in.
  static let binDirectory: String =
    ProcessInfo.processInfo.environment["LAZYFS_BIN"]
    ?? URL(fileURLWithPath: Paths.binary).deletingLastPathComponent().path
  static let fixtures = ProcessInfo.processInfo.environment["LAZYFS_FIXTURES"] ?? "/var/cache/lazyfs-fixtures"
  static let pythonTar = fixtures + "/python/rootfs.tar"

  static var available: Bool {
    FileManager.default.fileExists(atPath: fixtures + "/python/.done")
      && FileManager.default.isExecutableFile(atPath: binDirectory + "/lazyfs")
  }

  /// A store holding the python fixture under the name `python`, imported once per test run and removed
  /// at exit.
  static let store: Result<String, TestFailure> = {
    let path = "\(Paths.bundles)/lazyfs-store-\(getpid())"
    atexit { try? FileManager.default.removeItem(atPath: "\(Paths.bundles)/lazyfs-store-\(getpid())") }
    let result = runProcess(
      binDirectory + "/lazyfs", ["import", "--store", path, "--name", "python", pythonTar], timeout: 300)
    guard result.status == 0 else { return .failure(TestFailure("lazyfs import failed: \(result)")) }
    return .success(path)
  }()
}

struct TestFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

extension TestContainer {
  /// Makes the container's root the lazyfs image `image` from `store`.
  func useLazyRoot(image: String, store: String) {
    spec.annotations = [Spec.lazyImageAnnotation: image, Spec.lazyStoreAnnotation: store]
    spec.root?.path = nil
  }

  /// The container's state directory, where its lazy root is mounted.
  var stateDirectory: String { "\(root)/\(id)" }

  /// Mount points under the container's state directory, from this process's mountinfo.
  var stateMounts: [String] { rootMounts.filter { $0.hasPrefix(stateDirectory + "/") } }

  /// Mount points under the container's state root: its overlay and the shared image mounts.
  var rootMounts: [String] {
    let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    return table.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ")
      guard fields.count > 4, fields[4].hasPrefix(root + "/") else { return nil }
      return String(fields[4])
    }
  }

  /// The lazyfs image mounts shared by the containers of this root.
  var imageMounts: [String] { rootMounts.filter { $0.hasPrefix(root + "/@images/") } }

  /// Processes whose command line mentions the container's state root (a lazyfs daemon serving an image).
  var processesOnRoot: [String] {
    let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { Int($0) != nil } ?? []
    return pids.compactMap { pid in
      guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
      let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
      let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "?\n"
      return line.contains(root + "/") ? "\(pid) (\(comm.dropLast())): \(line)" : nil
    }
  }
}

@Suite("lazyfs roots (root, real containers)", .enabled(if: LazyFixture.available, "no python fixture or lazyfs"))
struct LazyRootTests {
  /// Over io_uring too: FUSE over io_uring switched on while `create` mounts the image.
  @Test(arguments: Transport.available)
  func numpyRunsOnALazyRootAndNothingIsLeft(transport: Transport) throws {
    let store = try LazyFixture.store.get()
    let python = "python3 -c 'import numpy; print(numpy.arange(6).sum())' > /out/answer"
    let c = try TestContainer("lazy", args: ["/bin/sh", "-c", python])
    defer { c.cleanup() }
    c.useLazyRoot(image: "python", store: store)
    c.spec.process?.env = ["PATH=/usr/local/bin:/usr/bin:/bin"]
    try c.writeConfig()
    let createCommand = { c.crunFast("create", "--bundle", c.bundle, c.id) }
    let create = transport == .ioUring ? try UringSwitch.on(createCommand) : createCommand()
    #expect(create.status == 0, "\(create)")
    #expect(c.imageMounts.count == 1, "the image is mounted: \(c.rootMounts)")
    if transport == .ioUring, let image = c.imageMounts.first {
      let stats = runProcess(LazyFixture.binDirectory + "/lazyfs", ["stats", "--json", image], timeout: 30)
      #expect(stats.stdout.contains("\"transport\" : \"io_uring\""), "\(stats)")
    }
    #expect(c.stateMounts.contains(c.stateDirectory + "/rootfs"), "the overlay is mounted: \(c.stateMounts)")
    #expect(c.crunFast("state", c.id).stdout.contains("\"rootfs\" : \"\(c.stateDirectory)/rootfs\""))
    #expect(c.crunFast("start", c.id).status == 0)
    var waited = 0
    while !c.crunFast("state", c.id).stdout.contains("stopped") && waited < 3000 {
      usleep(10_000)
      waited += 1
    }
    #expect(c.output("answer") == "15\n")
    let delete = c.crunFast("delete", c.id)
    #expect(delete.status == 0, "\(delete)")
    #expect(c.rootMounts.isEmpty, "\(c.rootMounts)")
    #expect(c.processesOnRoot.isEmpty, "the lazyfs daemon has exited: \(c.processesOnRoot)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }

  @Test func runPrintsNumpysAnswerOnAWritableRoot() throws {
    let store = try LazyFixture.store.get()
    let script = "import numpy; open('/root/written', 'w').write('x'); print(numpy.arange(6).sum())"
    let c = try TestContainer("lazyrun", args: ["/usr/bin/python3", "-c", script])
    defer { c.cleanup() }
    c.useLazyRoot(image: "python", store: store)
    c.spec.root?.readonly = false
    let result = try c.run(timeout: 120)
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "15\n")
    #expect(c.rootMounts.isEmpty, "\(c.rootMounts)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
    #expect(c.processesOnRoot.isEmpty, "\(c.processesOnRoot)")
  }

  @Test func execRunsOnTheLazyRootToo() throws {
    let store = try LazyFixture.store.get()
    let c = try TestContainer("lazyexec", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    c.useLazyRoot(image: "python", store: store)
    try c.writeConfig()
    #expect(c.crunFast("run", "--detach", "--bundle", c.bundle, c.id).status == 0)
    let exec = c.crunFast("exec", c.id, "/usr/bin/python3", "-c", "import numpy; print(numpy.arange(6).sum())")
    #expect(exec.status == 0, "\(exec)")
    #expect(exec.stdout == "15\n")
    #expect(c.crunFast("delete", "--force", c.id).status == 0)
    #expect(c.rootMounts.isEmpty, "\(c.rootMounts)")
  }

  @Test func severalContainersOnOneImageAtOnce() throws {
    let store = try LazyFixture.store.get()
    let containers = try (0..<3).map { i in
      try TestContainer("lazymany\(i)", args: ["/usr/bin/python3", "-c", "print(\(i) + 40)"])
    }
    defer { for c in containers { c.cleanup() } }
    for c in containers {
      c.useLazyRoot(image: "python", store: store)
      try c.writeConfig()
    }
    let results = Results(count: containers.count)
    DispatchQueue.concurrentPerform(iterations: containers.count) { i in
      let c = containers[i]
      results.set(i, c.crunFast("run", "--bundle", c.bundle, c.id, timeout: 120))
    }
    for (i, result) in results.all.enumerated() {
      #expect(result?.status == 0, "\(String(describing: result))")
      #expect(result?.stdout == "\(i + 40)\n")
      #expect(containers[i].rootMounts.isEmpty)
      #expect(!containers[i].stateDirectoryExists)
    }
  }

  /// Containers of one state root share one mount of their image: the first create mounts it, the last
  /// delete unmounts it and ends its daemon.
  @Test func containersShareOneMountOfTheirImage() throws {
    let store = try LazyFixture.store.get()
    let first = try TestContainer("lazyshare", args: ["/usr/bin/python3", "-c", "print(6 * 7)"])
    let others = try (0..<2).map { _ in
      try TestContainer("lazyshare", args: ["/usr/bin/python3", "-c", "print(6 * 7)"], root: first.root)
    }
    let all = [first] + others
    defer { for c in all.reversed() { c.cleanup() } }
    for c in all {
      c.useLazyRoot(image: "python", store: store)
      try c.writeConfig()
      let create = c.crunFast("create", "--bundle", c.bundle, c.id)
      #expect(create.status == 0, "\(create)")
    }
    #expect(first.imageMounts.count == 1, "one mount of the image: \(first.rootMounts)")
    // Setuid programs in the image work in its containers, and only root can reach the shared mount.
    let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    let options = table.split(separator: "\n").map { $0.split(separator: " ") }
      .first { $0.count > 5 && first.imageMounts.contains(String($0[4])) }.map { String($0[5]) }
    #expect(options.map { !$0.contains("nosuid") && !$0.contains("nodev") } == true, "\(options ?? "none")")
    var st = stat()
    #expect(stat(first.root + "/@images", &st) == 0 && st.st_mode & 0o777 == 0o700)
    let daemons = first.processesOnRoot.filter { $0.contains("(lazyfs): ") }
    #expect(daemons.count == 1, "one daemon (and its unmount watcher): \(first.processesOnRoot)")
    for c in all { #expect(c.stateMounts == [c.stateDirectory + "/rootfs"], "\(c.stateMounts)") }
    for c in all.dropLast() {
      #expect(c.crunFast("delete", c.id).status == 0)
      #expect(first.imageMounts.count == 1, "still used by the last container: \(first.rootMounts)")
    }
    // The last container still runs on the image after the others are gone.
    let last = all[all.count - 1]
    #expect(last.crunFast("start", last.id).status == 0)
    var waited = 0
    while !last.crunFast("state", last.id).stdout.contains("stopped") && waited < 3000 {
      usleep(10_000)
      waited += 1
    }
    #expect(last.crunFast("delete", last.id).status == 0)
    #expect(first.rootMounts.isEmpty, "\(first.rootMounts)")
    #expect(first.processesOnRoot.isEmpty, "the lazyfs daemon has exited: \(first.processesOnRoot)")
  }

  @Test func readonlyRootIsHonoured() throws {
    let store = try LazyFixture.store.get()
    let c = try TestContainer("lazyro", args: ["/bin/sh", "-c", "touch /x 2>&1; echo $?"])
    defer { c.cleanup() }
    c.useLazyRoot(image: "python", store: store)
    let result = try c.run(timeout: 120)
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.contains("Read-only file system"), "\(result)")
    #expect(result.stdout.hasSuffix("1\n"))
  }

  @Test func unknownImageIsAClearErrorAndLeavesNothing() throws {
    let store = try LazyFixture.store.get()
    let c = try TestContainer("lazybad", args: ["/bin/true"])
    defer { c.cleanup() }
    c.useLazyRoot(image: "no-such-image", store: store)
    try c.writeConfig()
    let result = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(result.status == 1)
    #expect(result.stderr.contains("lazyfs root: mounting image \"no-such-image\""), "\(result)")
    #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    #expect(!c.stateDirectoryExists)
    #expect(c.rootMounts.isEmpty)
    #expect(c.cgroupDirectories.isEmpty)
  }

  /// crun-fast killed in the middle of create (by a hook, after the root is mounted and the cgroup made):
  /// there is no state.json, and delete still removes the mounts, the cgroup and the directory.
  @Test func deleteCleansUpAfterACreateThatWasKilled() throws {
    let store = try LazyFixture.store.get()
    let c = try TestContainer("lazykill", args: ["/bin/true"])
    defer { c.cleanup() }
    c.useLazyRoot(image: "python", store: store)
    let hook = c.bundle + "/kill-parent"
    try "#!/bin/sh\nkill -9 $PPID\n".write(toFile: hook, atomically: true, encoding: .utf8)
    chmod(hook, 0o755)
    c.spec.hooks = Spec.Hooks(createRuntime: [Spec.Hook(path: hook)])
    try c.writeConfig()
    let create = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(create.status == 137, "\(create)")
    #expect(c.stateMounts.contains(c.stateDirectory + "/rootfs"), "\(c.stateMounts)")
    #expect(!c.cgroupDirectories.isEmpty)
    let delete = c.crunFast("delete", c.id)
    #expect(delete.status == 0, "\(delete)")
    #expect(c.rootMounts.isEmpty, "\(c.rootMounts)")
    #expect(c.processesOnRoot.isEmpty, "\(c.processesOnRoot)")
    #expect(c.cgroupDirectories.isEmpty)
    #expect(!c.stateDirectoryExists)
  }

  @Test func failureAfterTheMountUnmountsIt() throws {
    let store = try LazyFixture.store.get()
    let c = try TestContainer("lazyfail", args: ["no-such-program"])
    defer { c.cleanup() }
    c.useLazyRoot(image: "python", store: store)
    try c.writeConfig()
    let result = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(result.status == 1)
    #expect(result.stderr.contains("no-such-program"), "\(result)")
    #expect(c.rootMounts.isEmpty, "\(c.rootMounts)")
    #expect(c.processesOnRoot.isEmpty, "\(c.processesOnRoot)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }
}
