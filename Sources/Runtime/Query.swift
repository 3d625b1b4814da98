extension Runtime {
  /// `state`: the OCI state of one container.
  public func state(id: String) throws -> OCIState {
    let lock = try store.lock(id, exclusive: false)
    defer { lock.release() }
    return ociState(try store.load(id))
  }

  /// `list`: every container whose state can be read; ones being created or deleted right now are skipped.
  public func list() -> [OCIState] {
    store.ids().compactMap { id in (try? store.load(id)).map(ociState) }
  }
}
