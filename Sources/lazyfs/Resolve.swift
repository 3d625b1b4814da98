import ArgumentParser
import ChunkStore
import RemoteStore
import StoreCatalog

struct Resolve: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resolve",
    abstract: "Print the digest an image reference names: in the store, else, with --remote, at the remote.",
    discussion: """
      crun-fast runs this for a container whose image is a name only a remote publishes (annotation \
      org.lazyfs.remote): the shared mount of an image is keyed by its digest.
      """)
  @OptionGroup var storeOptions: StoreOptions
  @Option(help: "A published store to ask when the local store does not know the image.") var remote: String?
  @Argument(help: "The image: a name, a digest or a unique digest prefix.") var image: String

  func run() throws {
    try guarded("resolve") {
      guard let remote else { return print(try ImageCatalog(root: storeOptions.path).resolve(image)) }
      let digest =
        try ImageCatalog.resolveIfPresent(image, inStoreAt: storeOptions.path) ?? ImageDigest(image)
        ?? ImageDigest(RemoteImage.digest(named: image, at: remote))
      print(digest)
    }
  }
}
