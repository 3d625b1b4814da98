/// Why a mount, an unmount or a statistics request failed, in one line that names the path at fault.
public struct MountError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}
