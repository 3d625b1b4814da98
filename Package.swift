// swift-tools-version: 6.2
// lazyfs / crun-fast: a lazily loaded container image filesystem and a fast OCI runtime.
import PackageDescription

/// Every target compiles in Swift 6 mode with all warnings treated as errors.
let strict: [SwiftSetting] = [
  .treatAllWarnings(as: .error),
  // Concrete generic types (`[String]`, `Set<String>`, …) get direct metadata accessors instead of mangled
  // names that the runtime demangles, and checks conformances for, on first use in every process.
  .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
]

/// libzstd and libfuse3 reach the `lazyfs` executable as static archives (its linker settings), so that
/// no `lazyfs` command pays for loading them (libcrypto, when SHA-256 came from it, added 0.76 ms to an
/// empty program's start here), and `lazyfs mount` and `umount` are on a container's start and delete path. Their system
/// library targets therefore name no library to link (no `link` line, no pkg-config), and the test
/// bundle, the other program linking them, links the shared ones: a new executable or test target that
/// uses Codecs or LazyFS without TestSupport must add these too.
let sharedNativeLibraries: [LinkerSetting] = [
  .linkedLibrary("zstd"), .linkedLibrary("fuse3"),
]

/// Where Debian keeps the static archives `lazyfs` links, by the machine the manifest is built on.
#if arch(arm64)
  let multiarchLibraries = "/usr/lib/aarch64-linux-gnu"
#else
  let multiarchLibraries = "/usr/lib/x86_64-linux-gnu"
#endif

let package = Package(
  name: "lazyfs",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "lazyfs", targets: ["lazyfs"]),
    .executable(name: "crun-fast", targets: ["crun-fast"]),
    .executable(name: "lazyfs-config", targets: ["lazyfs-config"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
  ],
  targets: [
    // C libraries, each through a module map and a shim header. pkg-config or the module map names the
    // library to link, except for the three `lazyfs` links statically (`sharedNativeLibraries`).
    .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    // SHA-256 with the CPU's SHA extensions where present (see Sources/CSHA256/include/csha256.h).
    .target(name: "CSHA256"),
    .systemLibrary(name: "CFuse", providers: [.apt(["libfuse3-dev"])]),
    // FUSE over io_uring for libfuse 3.14, which predates it (see Sources/CFuseRing/include/fuse_ring.h).
    .target(name: "CFuseRing", dependencies: ["CFuse"]),
    // libcurl, loaded with dlopen on first use (see Sources/CCurl/include/shim.h).
    .target(name: "CCurl"),
    .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
    .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),

    .target(name: "CLinux"),
    .target(name: "LinuxSystem", dependencies: ["CLinux"], swiftSettings: strict),
    .target(name: "Hashing", dependencies: ["CSHA256"], swiftSettings: strict),
    .target(name: "Codecs", dependencies: ["CZstd", "CZlib", "Hashing", "LinuxSystem"], swiftSettings: strict),
    .target(name: "Archive", dependencies: ["Codecs", "LinuxSystem"], swiftSettings: strict),
    // Where a store is, names, image references and the mount request: what lazyfs and crun-fast share.
    .target(name: "StoreCatalog", dependencies: ["JSON", "LinuxSystem"], swiftSettings: strict),
    // lazyfs.toml through TOMLKit, for `lazyfs-config` alone (TOMLKit brings Foundation; see `NodeConfig`).
    .target(
      name: "NodeConfigFile",
      dependencies: ["StoreCatalog", .product(name: "TOMLKit", package: "TOMLKit")], swiftSettings: strict),
    .executableTarget(
      name: "lazyfs-config", dependencies: ["NodeConfigFile", "StoreCatalog", "LinuxSystem"], swiftSettings: strict),
    .target(name: "ChunkStore", dependencies: ["StoreCatalog", "Codecs", "LinuxSystem"], swiftSettings: strict),
    .target(name: "ImageIndex", dependencies: ["Codecs", "LinuxSystem"], swiftSettings: strict),
    .target(
      name: "ImageImport",
      dependencies: ["Archive", "StoreCatalog", "ChunkStore", "ImageIndex", "JSON", "Codecs", "LinuxSystem"],
      swiftSettings: strict),

    .target(
      name: "ImageExport", dependencies: ["Archive", "ChunkStore", "ImageIndex", "Codecs", "LinuxSystem"],
      swiftSettings: strict),

    // What a container read first, as a file tied to its image: recorded by a mount, merged, replayed.
    .target(name: "Profiles", dependencies: ["Codecs", "ImageIndex", "LinuxSystem"], swiftSettings: strict),
    .target(
      name: "RemoteStore", dependencies: ["CCurl", "StoreCatalog", "ChunkStore", "Codecs", "LinuxSystem"],
      swiftSettings: strict),

    .target(
      name: "LazyFS",
      dependencies: [
        "CFuse", "CFuseRing", "StoreCatalog", "ChunkStore", "ImageIndex", "JSON", "RemoteStore", "Profiles", "Codecs",
        "LinuxSystem",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),

    .executableTarget(
      name: "lazyfs",
      dependencies: [
        "LazyFS", "StoreCatalog", "JSON", "RemoteStore", "Profiles", "ImageImport", "ImageExport", "ChunkStore",
        "ImageIndex", "Codecs",
        "LinuxSystem",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict,
      // Static Swift runtime: `lazyfs mount` starts two processes (the command and its daemon), and binding
      // libswiftCore and friends at load time costs several ms of each. Not a static executable: `--remote`
      // loads libcurl with dlopen, and a statically linked glibc cannot host a shared library safely. zstd
      // and libfuse3 come in as archives (see `sharedNativeLibraries`; with libcrypto too, 3.8 -> 2.8 ms for
      // any `lazyfs` command to start and exit; SHA-256 is now our own, CSHA256). Their symbols stay
      // hidden (`--exclude-libs ALL` from -static-stdlib).
      linkerSettings: [
        .unsafeFlags([
          "-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims", "-use-ld=lld", "-Xlinker", "-z",
          "-Xlinker", "pack-relative-relocs", "-Xlinker", "\(multiarchLibraries)/libzstd.a",
          "-Xlinker", "\(multiarchLibraries)/libfuse3.a",
        ])
      ]),
    // crun-fast: the OCI runtime. CContainerInit is the only code between clone and execve.
    .target(name: "CContainerInit"),
    // JSON text to values and back: config.json, state.json, OCI image JSON, lazyfs's --json output.
    .target(name: "JSON", swiftSettings: strict),
    .target(name: "OCISpec", dependencies: ["JSON"], swiftSettings: strict),
    .target(name: "Cgroups", dependencies: ["CLinux", "LinuxSystem"], swiftSettings: strict),
    .target(name: "Capabilities", dependencies: ["CCap"], swiftSettings: strict),
    .target(name: "Seccomp", dependencies: ["CSeccomp", "Hashing", "OCISpec", "LinuxSystem"], swiftSettings: strict),
    .target(
      name: "Runtime",
      dependencies: [
        "CContainerInit", "CLinux", "StoreCatalog", "JSON", "OCISpec", "Cgroups", "Capabilities", "Seccomp",
        "LinuxSystem",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    // Linked fully static (Swift runtime, libstdc++, libseccomp, libcap and glibc): with no dynamic loader
    // at all, `--version` took 1.1 ms instead of 2.4 ms with shared libraries and 0.7 ms of every start went.
    // crun-fast never loads code at run time or looks up users by name, so static glibc costs nothing. No
    // Foundation either (nothing it links imports it): the runtime scans every protocol conformance record
    // on first use, and Foundation's made the binary 26 MB instead of 18 and `--version` 1.2 ms instead of
    // 1.0. lld packs the remaining relative relocations (DT_RELR).
    .executableTarget(
      name: "crun-fast",
      dependencies: ["Runtime", "OCISpec", "LinuxSystem", .product(name: "Logging", package: "swift-log")],
      swiftSettings: strict,
      linkerSettings: [
        .unsafeFlags([
          "-static-executable", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
        ])
      ]),

    // Shared by the test targets: fixtures, a process runner, tree snapshots, and real servers to start and stop.
    .target(
      name: "TestSupport", dependencies: ["Codecs", "LinuxSystem"], path: "Tests/TestSupport", swiftSettings: strict,
      linkerSettings: sharedNativeLibraries),
    .testTarget(
      name: "CodecsTests", dependencies: ["Codecs"], swiftSettings: strict, linkerSettings: sharedNativeLibraries),
    .testTarget(name: "JSONTests", dependencies: ["JSON"], swiftSettings: strict),
    .testTarget(name: "HashingTests", dependencies: ["Hashing", "CSHA256", "LinuxSystem"], swiftSettings: strict),
    .testTarget(name: "OCISpecTests", dependencies: ["OCISpec", "JSON"], swiftSettings: strict),
    .testTarget(
      name: "StoreCatalogTests",
      dependencies: ["StoreCatalog", "NodeConfigFile", "JSON", "LinuxSystem", "TestSupport"],
      swiftSettings: strict),
    .testTarget(name: "LinuxSystemTests", dependencies: ["LinuxSystem", "TestSupport"], swiftSettings: strict),
    .testTarget(name: "CgroupsTests", dependencies: ["Cgroups", "LinuxSystem", "TestSupport"], swiftSettings: strict),
    .testTarget(
      name: "SeccompTests",
      dependencies: ["Seccomp", "CSeccomp", "Hashing", "JSON", "OCISpec", "LinuxSystem", "TestSupport"],
      swiftSettings: strict),
    .testTarget(name: "CapabilitiesTests", dependencies: ["Capabilities"], swiftSettings: strict),
    .testTarget(
      name: "RuntimeTests",
      dependencies: [
        "Runtime", "StoreCatalog", "JSON", "OCISpec", "Cgroups", "Seccomp", "Capabilities", "LinuxSystem",
        "TestSupport",
      ],
      swiftSettings: strict),
    .testTarget(
      name: "ArchiveTests", dependencies: ["Archive", "Codecs", "LinuxSystem", "TestSupport"], swiftSettings: strict),
    .testTarget(
      name: "ChunkStoreTests", dependencies: ["ChunkStore", "StoreCatalog", "Codecs", "LinuxSystem", "TestSupport"],
      swiftSettings: strict),
    .testTarget(
      name: "ImageIndexTests", dependencies: ["ImageIndex", "Codecs", "LinuxSystem", "TestSupport"],
      swiftSettings: strict),
    .testTarget(
      name: "ProfilesTests", dependencies: ["Profiles", "Codecs", "LinuxSystem", "TestSupport"],
      swiftSettings: strict),
    .testTarget(
      name: "LazyFSTests",
      dependencies: [
        "LazyFS", "Profiles", "StoreCatalog", "ChunkStore", "ImageIndex", "JSON", "Codecs", "LinuxSystem",
        "TestSupport",
      ],
      swiftSettings: strict),
    .testTarget(
      name: "RemoteStoreTests",
      dependencies: ["RemoteStore", "ImageImport", "ImageIndex", "ChunkStore", "Codecs", "LinuxSystem", "TestSupport"],
      swiftSettings: strict),
    .testTarget(
      name: "ImageImportTests",
      dependencies: [
        "ImageImport", "ImageExport", "ImageIndex", "ChunkStore", "StoreCatalog", "Archive", "Codecs", "LinuxSystem",
        "TestSupport",
      ],
      swiftSettings: strict),
  ]
)
