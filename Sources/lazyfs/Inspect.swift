import ArgumentParser
import ChunkStore
import ImageIndex
import JSON
import LinuxSystem

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Summarise an image's tree (IMAGE: a name, a digest or a unique digest prefix).")
  @OptionGroup var storeOptions: StoreOptions
  @Flag(help: "Print JSON.") var json = false
  @Flag(help: "Also list every path with its type, mode, owner and size.") var list = false
  @Argument(help: "The image.") var image: String

  struct Summary {
    var digest: String
    var entries: Int
    var directories = 0
    var regularFiles = 0
    var symlinks = 0
    var devices = 0
    var fifos = 0
    var hardlinks = 0
    var bytes: Int64 = 0
    var chunks: Int
    var xattrs = 0
    var setuid = 0
    var hasConfig: Bool
    var paths: [String]?

    var json: JSONValue {
      var o = JSONObject()
      o.append("digest", .string(digest))
      for (key, n) in [
        ("entries", entries), ("directories", directories), ("regularFiles", regularFiles), ("symlinks", symlinks),
        ("devices", devices), ("fifos", fifos), ("hardlinks", hardlinks), ("chunks", chunks), ("xattrs", xattrs),
        ("setuid", setuid),
      ] {
        o.append(key, .int(n))
      }
      o.append("bytes", .int(bytes))
      o.append("hasConfig", .bool(hasConfig))
      o.append("paths", paths.map(JSONValue.strings))
      return .object(o)
    }
  }

  func run() throws {
    try guarded("inspect") {
      let store = try storeOptions.open()
      let (digest, index) = try openImage(store, image)
      var s = Summary(
        digest: digest.description, entries: index.count, chunks: index.chunkCount, hasConfig: !index.config.isEmpty)
      var lines: [String] = []
      for i in 0..<index.count {
        let a = index.attributes(i)
        if index.inode(i) != i { s.hardlinks += 1 }
        switch a.type {
        case .directory: s.directories += 1
        case .regular:
          s.regularFiles += 1
          if index.inode(i) == i { s.bytes += a.size }
        case .symlink: s.symlinks += 1
        case .characterDevice, .blockDevice: s.devices += 1
        case .fifo: s.fifos += 1
        default: break
        }
        if !index.xattrs(i).isEmpty { s.xattrs += 1 }
        if a.mode & 0o4000 != 0 { s.setuid += 1 }
        if list {
          let type = String(describing: a.type.map { "\($0)" } ?? "?")
          let mode = String(a.mode & 0o7777, radix: 8)
          var line = "\(type) \(mode) \(a.uid):\(a.gid) \(a.size) /\(index.path(of: i))"
          if a.type == .symlink { line += " -> \(index.symlinkTarget(i))" }
          if index.inode(i) != i { line += " => /\(index.path(of: index.inode(i)))" }
          lines.append(line)
        }
      }
      if list { s.paths = lines }
      if json { return printJSON(s.json) }
      print("image        \(s.digest)")
      print(
        "entries      \(s.entries): \(s.directories) directories, \(s.regularFiles) files, \(s.symlinks) symlinks, "
          + "\(s.devices) devices, \(s.fifos) fifos, \(s.hardlinks) extra hardlinks")
      print("content      \(humanBytes(s.bytes)) in \(s.chunks) distinct chunks")
      print("special      \(s.setuid) setuid, \(s.xattrs) with xattrs, config \(s.hasConfig ? "present" : "none")")
      for l in lines { print(l) }
    }
  }
}
