extension Spec {
  /// The image a lazyfs-rooted container runs on (a name, a digest or a unique digest prefix). With it,
  /// root.path is not needed: the runtime mounts the image and an overlay on it as the root.
  public static let lazyImageAnnotation = "org.lazyfs.image"
  /// The lazyfs store holding that image (default `$LAZYFS_STORE`, else /var/lib/lazyfs).
  public static let lazyStoreAnnotation = "org.lazyfs.store"
  /// A published store (`lazyfs publish`, served over HTTP(S)) to fetch the image from when the local
  /// store lacks it: then the image is a full digest or a name that remote publishes.
  public static let lazyRemoteAnnotation = "org.lazyfs.remote"
  /// "true": the image's mount records what is read first into the image's profile (`lazyfs mount
  /// --record`). It applies when this container's create mounts the image, not to a mount already shared.
  public static let lazyRecordAnnotation = "org.lazyfs.record"
  /// `lazyfs mount --prefetch`: "auto" (the default), "off", or a profile file.
  public static let lazyPrefetchAnnotation = "org.lazyfs.prefetch"

  /// Whether the root comes from a lazyfs image rather than root.path.
  public var hasLazyRoot: Bool { annotations?[Self.lazyImageAnnotation] != nil }
}
