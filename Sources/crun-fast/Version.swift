enum Version {
  static let number = "0.1.0"
  /// The OCI runtime specification version implemented.
  static let spec = "1.2.0"
}

enum Usage {
  static let text = """
    crun-fast: an OCI runtime compatible with runc's command line.

    Usage: crun-fast [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [ARGS]

      spec [--bundle DIR]                               write a default config.json
      create [--bundle DIR] [--pid-file FILE] ID        set up a container, stopped before exec
      start ID                                          run a created container's process
      run [--bundle DIR] [--pid-file FILE] [--detach] ID
                                                        create and start; without --detach, wait and exit with it
      state ID                                          print the OCI state as JSON
      list [--format table|json]                        list containers
      kill [--all] ID [SIGNAL]                          signal the init (default TERM), or with --all every process
      delete [--force] ID                               remove a stopped (or with --force, any) container
      exec [--tty] [--cwd DIR] [--env K=V] [--user UID[:GID]] [--additional-gids GID] [--cap CAP]
           [--no-new-privs] [--process FILE] [--detach] [--pid-file FILE] [--console-socket PATH] ID [COMMAND...]
                                                        run a process in a container; exit with its status
    create and run also take --console-socket PATH (needed when process.terminal is set).
    Containers rooted in a lazyfs image (annotation org.lazyfs.image, store org.lazyfs.store, default
    $LAZYFS_STORE, else /var/lib/lazyfs) run `lazyfs` from $LAZYFS_BIN, else from beside crun-fast.
      --version                                         print the version

    """
}
