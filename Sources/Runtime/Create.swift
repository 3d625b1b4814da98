extension Runtime {
  /// `create`: sets the container up and leaves its init blocked opening exec.fifo until `start`. The
  /// init outlives this process; it is reparented to the nearest subreaper, usually the host's init.
  public func create(id: String, bundle: String, pidFile: String?, consoleSocket: String? = nil) throws {
    let prepared = try prepare(id: id, bundle: bundle)
    let (process, _, lock) = try launch(
      id: id, prepared, gate: .fifo, pidFile: pidFile, consoleSocket: consoleSocket)
    process.closeSync()
    lock.release()
  }
}
