import ArgumentParser
import ImageExport

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write an image out as a directory, or as a tar when DEST ends in .tar.")
  @OptionGroup var storeOptions: StoreOptions
  @Argument(help: "The image.") var image: String
  @Argument(help: "A directory that does not exist or is empty, or a path ending in .tar.") var destination: String

  func run() throws {
    try guarded("export") {
      let store = try storeOptions.open()
      let (_, index) = try openImage(store, image)
      let exporter = Exporter(store: store, index: index)
      if destination.hasSuffix(".tar") {
        try exporter.exportTar(to: destination)
      } else {
        try exporter.exportDirectory(to: destination)
      }
    }
  }
}
