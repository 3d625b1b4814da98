import ChunkStore
import Codecs
import Glibc
import LinuxSystem
import StoreCatalog

/// What `publish` wrote.
public struct PublishReport: Sendable {
  public var packsWritten = 0
  public var packsPresent = 0
  public var bytesWritten: Int64 = 0
  /// Whether the image's profile went too, and the size of its working-set pack.
  public var profile = false
  public var workingSetBytes: Int64 = 0
}

/// Writes an image, and the packs that hold its chunks, into a directory laid out as `RemoteLayout` says:
/// the exact set of files to upload. Files already there are not written again (they are content-addressed),
/// so publishing a second image adds only its new packs. Every file is written under a temporary name and
/// renamed; the image's pack list goes last, so a reader never sees an image whose packs are missing.
public enum Publisher {
  /// `workingSet`: the chunks of the image's profile in first-read order, when it has one (see below).
  public static func publish(
    store: ChunkStore, image: Digest, names: [String], chunks: [Digest], workingSet: [Digest] = [], to dest: String
  ) throws -> PublishReport {
    var report = PublishReport()
    let layout = dest + "/layout"
    // An older layout is moved to this version before a zstd-framed index goes in, so that an older reader
    // refuses the directory by its layout instead of failing on the index. An unknown one is left alone.
    let existing = Files.exists(layout) ? String(decoding: try Files.read(layout), as: UTF8.self) : nil
    if let existing, !RemoteLayout.readable.contains(existing) {
      throw RemoteError(layout, "not a lazyfs remote store layout this lazyfs writes (\"\(existing.prefix(30))\")")
    }
    for dir in ["", "/packs", "/indexes", "/images", "/names", "/profiles"] { try Files.makeDirectories(dest + dir) }
    if existing != RemoteLayout.version { try Files.writeAtomically(layout, Array(RemoteLayout.version.utf8)) }

    var packs = Set<Digest>()
    for c in chunks {
      guard let loc = store.location(of: c) else { throw StoreError.missingChunk(c) }
      packs.insert(store.packIDs[Int(loc.pack)])
    }
    for id in packs.sorted() {
      let target = "\(dest)/packs/\(id.hex).idx"
      if Files.exists(target) {
        report.packsPresent += 1
        continue
      }
      report.bytesWritten += try copy("\(store.packsDirectory)/\(id.hex).pack", to: "\(dest)/packs/\(id.hex).pack")
      report.bytesWritten += try copy("\(store.packsDirectory)/\(id.hex).idx", to: target)
      report.packsWritten += 1
    }
    // The index file as the store holds it (a zstd frame), checked against the image digest.
    let index = try store.indexFile(image).file
    let indexPath = "\(dest)/indexes/\(image.hex)"
    if !Files.exists(indexPath) { try Files.writeAtomically(indexPath, index) }
    report.bytesWritten += Int64(index.count)
    // The image's profile (what its containers read first), as it is now: written again on every publish.
    if let profile = try? Files.read("\(store.root)/profiles/\(image.hex)") {
      try Files.writeAtomically("\(dest)/profiles/\(image.hex)", profile)
      report.bytesWritten += Int64(profile.count)
      report.profile = true
    }
    // The working set's own pack: the profile's chunks again, back to back in first-read order, listed
    // first so that a reader finds them there (the first pack listed that holds a chunk is where it is
    // read). A cold node's prefetch then fetches its working set as a few large sequential ranges of
    // exactly those chunks, instead of the import's blocks, which hold whatever lay beside them in the
    // layers (measured on python's numpy import: 16.7 MiB fetched for a working set that packs into less).
    var first: [Digest] = []
    if !workingSet.isEmpty {
      let built = PackFormat.build(
        try workingSet.map { (digest: $0, bytes: try store.read($0)) }, level: 19, blockTarget: 1 << 20)
      let target = "\(dest)/packs/\(built.id.hex).idx"
      if !Files.exists(target) {
        try Files.writeAtomically("\(dest)/packs/\(built.id.hex).pack", built.pack)
        try Files.writeAtomically(target, built.index)
        report.bytesWritten += Int64(built.pack.count + built.index.count)
        report.packsWritten += 1
      }
      report.workingSetBytes = Int64(built.pack.count)
      first = [built.id]
    }
    let list = (first + packs.sorted()).map { $0.hex + "\n" }.joined()
    try Files.writeAtomically("\(dest)/images/\(image.hex)", Array(list.utf8))
    for name in names.compactMap({ ImageName($0) }) {
      try Files.writeAtomically("\(dest)/names/\(name.fileName)", Array("\(image)\n".utf8))
    }
    return report
  }

  /// Copies a file to `target` through a temporary name (the kernel copies: sendfile).
  private static func copy(_ source: String, to target: String) throws -> Int64 {
    let input = try FileDescriptor.open(source, O_RDONLY)
    let size = try input.size()
    let tmp = "\(Files.dirname(of: target))/.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let output = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
    do {
      var done: Int64 = 0
      while done < size {
        let n = try syscall("sendfile", path: source) { sendfile(output.raw, input.raw, nil, Int(size - done)) }
        if n == 0 { throw SystemError("sendfile", path: source, errno: .EIO) }
        done += Int64(n)
      }
      try output.fsync()
    } catch {
      unlink(tmp)
      throw error
    }
    output.close()
    do {
      _ = try syscall("rename", path: target) { rename(tmp, target) }
      return size
    } catch {
      unlink(tmp)
      throw error
    }
  }
}
