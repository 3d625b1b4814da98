import ArgumentParser
import ChunkStore
import ImageIndex
import JSON

struct Images: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "images", abstract: "List the images in the store, with their names.")
  @OptionGroup var storeOptions: StoreOptions
  @Flag(help: "Print JSON.") var json = false

  struct Row {
    var digest: String
    var names: [String]
    var files: Int
    var bytes: Int64

    var json: JSONValue {
      var o = JSONObject()
      o.append("digest", .string(digest))
      o.append("names", .strings(names))
      o.append("files", .int(files))
      o.append("bytes", .int(bytes))
      return .object(o)
    }
  }

  func run() throws {
    try guarded("images") {
      let store = try storeOptions.open()
      let names = try store.names()
      var rows: [Row] = []
      for d in try store.imageDigests() {
        let index = try ImageIndex(path: store.indexPath(d))
        var files = 0
        var bytes: Int64 = 0
        for i in 0..<index.count where index.type(i) == .regular && index.inode(i) == i {
          files += 1
          bytes += index.attributes(i).size
        }
        rows.append(
          Row(digest: d.description, names: names.filter { $0.digest == d }.map(\.name), files: files, bytes: bytes))
      }
      if json { return printJSON(.array(rows.map(\.json))) }
      print("DIGEST                  FILES        SIZE  NAMES")
      for r in rows {
        let short = String(r.digest.prefix(7 + 16))
        let files = String(r.files)
        let size = humanBytes(r.bytes)
        print(
          short + " " + String(repeating: " ", count: max(0, 6 - files.count)) + files + "  "
            + String(repeating: " ", count: max(0, 10 - size.count)) + size + "  " + r.names.joined(separator: ", "))
      }
    }
  }
}

struct RemoveImage: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rmi", abstract: "Remove images and their names (run gc to free their chunks).")
  @OptionGroup var storeOptions: StoreOptions
  @Argument(help: "Digests, unique digest prefixes or names.") var images: [String]

  func run() throws {
    try guarded("rmi") {
      let store = try storeOptions.open()
      let digests = try images.map { try store.resolve($0) }
      for d in digests {
        try store.removeImage(d)
        print(d)
      }
    }
  }
}
