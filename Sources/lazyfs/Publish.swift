import ArgumentParser
import ChunkStore
import Codecs
import ImageIndex
import Profiles
import RemoteStore

struct Publish: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "publish",
    abstract: "Write an image and its packs into DEST-DIR as plain files for any static server to serve.",
    discussion: """
      DEST-DIR holds exactly the files to upload. Publishing more images into it adds only the packs \
      it lacks. `lazyfs mount --remote URL` reads from such a directory served over HTTP(S).
      """)
  @OptionGroup var storeOptions: StoreOptions
  @Argument(help: "The image: a name, a digest or a unique digest prefix.") var image: String
  @Argument(help: "The directory to write (created if missing).") var dest: String

  func run() throws {
    try guarded("publish") {
      let store = try storeOptions.open()
      let (digest, index) = try openImage(store, image)
      let names = try store.names().filter { $0.digest == digest }.map(\.name)
      // The profile's chunks in first-read order, for the working-set pack; a profile that cannot be used
      // is left out (with the reason) rather than stop the publication.
      var workingSet: [Digest] = []
      do {
        if let profile = try ProfileStore.load(ProfileStore.path(store: store.root, image: digest), image: digest) {
          try profile.check(against: index)
          var seen = Set<Digest>()
          for r in profile.records {
            let chunk = index.extent(Int(r.extent)).chunk
            if seen.insert(chunk).inserted { workingSet.append(chunk) }
          }
        }
      } catch {
        printError("lazyfs publish: warning: not publishing a working set: \(error)")
      }
      let r = try Publisher.publish(
        store: store, image: digest, names: names, chunks: index.chunks, workingSet: workingSet, to: dest)
      print(
        "published \(digest): \(r.packsWritten) pack(s) written, \(r.packsPresent) already there, "
          + "\(humanBytes(r.bytesWritten)) written"
          + (r.profile ? ", with its profile (working set: \(humanBytes(r.workingSetBytes)))" : ""))
    }
  }
}
