extension Spec {
  /// The image a lazyfs-rooted container runs on (a name, a digest or a unique digest prefix). With it,
  /// root.path is not needed: the runtime mounts the image and an overlay on it as the root.
  public static let lazyImageAnnotation = "org.lazyfs.image"
  /// The lazyfs store holding that image (default `$LAZYFS_STORE`, else /var/lib/lazyfs).
  public static let lazyStoreAnnotation = "org.lazyfs.store"
  /// A published store (`lazyfs publish`, served over HTTP(S)) to fetch the image from when the local
  /// store lacks it: then the image is a full digest or a name that remote publishes.
  public static let lazyRemoteAnnotation = "org.lazyfs.remote"

  /// Whether the root comes from a lazyfs image rather than root.path.
  public var hasLazyRoot: Bool { annotations?[Self.lazyImageAnnotation] != nil }
}
