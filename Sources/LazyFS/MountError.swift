import LinuxSystem

/// Why a mount, an unmount or a statistics request failed, in one line that names the path at fault.
public typealias MountError = ModuleError<MountFailure>
public enum MountFailure {}
