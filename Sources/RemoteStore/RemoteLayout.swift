/// A published store: plain files that any static server, bucket or CDN can serve.
///
/// ```
/// DEST/layout              "lazyfs-remote 2\n" (2 announces zstd-framed indexes; readers take 1 and 2)
/// DEST/packs/ID.pack       pack files, exactly as in the local store (blocks fetched by range request)
/// DEST/packs/ID.idx        their indexes (ID = SHA-256 of the .idx, so a client checks what it got)
/// DEST/indexes/HEX         image indexes as the store holds them, one zstd frame each (HEX = SHA-256
///                          of the decompressed index = the image digest)
/// DEST/images/HEX          the IDs of the packs image HEX needs, one per line; written last
/// DEST/names/NAME          "sha256:HEX\n" (NAME as a store names it: `ImageName.fileName`)
/// DEST/profiles/HEX        image HEX's profile, when it has one (`Profiles`: what its containers read
///                          first); optional, self-checking, replaced when a newer one is published
/// ```
///
/// Everything but names and profiles is immutable and content-addressed, so caches may keep it forever, and publishing
/// a second image into the same directory writes only the packs it does not already find there.
public enum RemoteLayout {
  public static let version = "lazyfs-remote 2\n"
  /// Layouts a reader accepts: version 1 differs only in not announcing zstd-framed image indexes (a reader
  /// takes either form of index from either).
  public static let readable: Set<String> = ["lazyfs-remote 1\n", version]
}
