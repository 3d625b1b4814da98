import ArgumentParser
import ChunkStore
import Codecs
import Glibc
import ImageIndex
import JSON
import LazyFS
import LinuxSystem
import Profiles

/// `lazyfs profile`: the working sets recorded with `mount --record` (see `Profiles`).
struct ProfileCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "profile",
    abstract: "List, show, remove, merge and save images' profiles (what their containers read first).",
    subcommands: [ListProfiles.self, ShowProfile.self, RemoveProfile.self, MergeProfiles.self, SaveProfile.self])
}

/// An image's profile in the store, checked against its index.
private func loadProfile(_ store: ChunkStore, _ reference: String) throws -> (Digest, ImageIndex, Profile, String) {
  let (digest, index) = try openImage(store, reference)
  let path = ProfileStore.path(store: store.root, image: digest)
  guard let profile = try ProfileStore.load(path, image: digest) else {
    throw ProfileFileError(
      path: path, reason: .unreadable("image \(digest) has no profile (record one with `lazyfs mount --record`)"))
  }
  try profile.check(against: index)
  return (digest, index, profile, path)
}

struct ListProfiles: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "The images that have a profile.")
  @OptionGroup var storeOptions: StoreOptions
  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    try guarded("profile list") {
      let store = try storeOptions.open()
      let names = try store.names()
      let dir = store.root + "/profiles"
      var rows: [JSONValue] = []
      var lines: [String] = []
      for name in (Files.isDirectory(dir) ? try Files.list(dir) : []).sorted() {
        guard let image = Digest(hex: name) else { continue }
        let imageNames = names.filter { $0.digest == image }.map(\.name)
        var o = JSONObject()
        o.append("image", .string(image.description))
        o.append("names", .strings(imageNames))
        do {
          let p = try ProfileStore.load(dir + "/" + name, image: image)!
          o.append("profile", .string(p.digest.description))
          o.append("runs", .int(Int(p.runs)))
          o.append("extents", .int(p.records.count))
          lines.append(
            "\(image.description.prefix(23))  \(p.records.count) extents from \(p.runs) runs  "
              + imageNames.joined(separator: ", "))
        } catch {
          o.append("error", .string("\(error)"))
          lines.append("\(image.description.prefix(23))  unusable: \(error)")
        }
        rows.append(.object(o))
      }
      if json { return printJSON(.array(rows)) }
      for line in lines { print(line) }
    }
  }
}

struct ShowProfile: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show", abstract: "An image's profile: its files and extents in replay order.")
  @OptionGroup var storeOptions: StoreOptions
  @Flag(help: "Print JSON.") var json = false
  @Argument(help: "The image.") var image: String

  func run() throws {
    try guarded("profile show") {
      let store = try storeOptions.open()
      let (digest, index, profile, path) = try loadProfile(store, image)
      var bytes: Int64 = 0
      var records: [JSONValue] = []
      var lines: [String] = []
      for r in profile.records {
        let x = index.extent(Int(r.extent))
        bytes += Int64(x.length)
        lines.append("\(r.seen)/\(profile.runs)  /\(index.path(of: Int(r.entry))) @\(x.offset)+\(x.length)")
        var o = JSONObject()
        o.append("path", .string("/" + index.path(of: Int(r.entry))))
        o.append("offset", .int(x.offset))
        o.append("length", .int(Int(x.length)))
        o.append("chunk", .string(x.chunk.description))
        o.append("seen", .int(Int(r.seen)))
        o.append("rank", .double(Double(r.rank)))
        records.append(.object(o))
      }
      if json {
        var o = JSONObject()
        o.append("image", .string(digest.description))
        o.append("profile", .string(profile.digest.description))
        o.append("path", .string(path))
        o.append("runs", .int(Int(profile.runs)))
        o.append("bytes", .int(bytes))
        o.append("records", .array(records))
        return printJSON(.object(o))
      }
      print("image    \(digest)")
      print("profile  \(profile.digest) (\(path))")
      print("runs     \(profile.runs); \(profile.records.count) extents, \(humanBytes(bytes))")
      for line in lines { print(line) }
    }
  }
}

struct RemoveProfile: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an image's profile.")
  @OptionGroup var storeOptions: StoreOptions
  @Argument(help: "The image.") var image: String

  func run() throws {
    try guarded("profile rm") {
      let store = try storeOptions.open()
      let digest = try store.resolve(image)
      let path = ProfileStore.path(store: store.root, image: digest)
      guard Files.exists(path) else {
        throw ProfileFileError(path: path, reason: .unreadable("image \(digest) has no profile"))
      }
      _ = try syscall("unlink", path: path) { unlink(path) }
      print("removed the profile of \(digest)")
    }
  }
}

struct MergeProfiles: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "merge",
    abstract: "Merge profile files (from other nodes' stores or remotes) into an image's profile.",
    discussion: """
      What every run read comes first, in its usual order; what only some runs read comes after. A file \
      that is not a profile of IMAGE, or does not fit its index, is refused and nothing is written.
      """)
  @OptionGroup var storeOptions: StoreOptions
  @Argument(help: "The image.") var image: String
  @Argument(help: "Profile files to merge in.") var files: [String]

  func run() throws {
    try guarded("profile merge") {
      let store = try storeOptions.open()
      let (digest, index) = try openImage(store, image)
      var merged: Profile?
      for file in files {
        guard let p = try ProfileStore.load(file, image: digest) else {
          throw ProfileFileError(path: file, reason: .unreadable("no such file"))
        }
        do { try p.check(against: index) } catch let e as ProfileError {
          throw ProfileFileError(path: file, reason: .profile(e))
        }
        merged = try merged.map { try $0.merged(with: p) } ?? p
      }
      guard let merged else { throw ValidationError("name at least one profile file") }
      let result = try ProfileStore.add(merged, at: ProfileStore.path(store: store.root, image: digest))
      print("profile of \(digest): \(result.records.count) extents from \(result.runs) runs (\(result.digest))")
    }
  }
}

struct SaveProfile: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "save", abstract: "Close a `mount --record` window now and save what it recorded.")
  @Argument(help: "The mount point.") var mountpoint: String

  func run() throws {
    try guarded("profile save") {
      let answer = try ProfileSave.request(mountpoint: mountpoint)
      let f = try JSONFields(answer, path: "")
      if let error = try f.string(ifPresent: "error") { throw ValidationError("\(mountpoint): \(error)") }
      print("saved \(try f.int64("extents")) extents to \(try f.string("path")) (\(try f.int64("runs")) runs)")
    }
  }
}
