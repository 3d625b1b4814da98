import Glibc
import JSON
import LinuxSystem
import OCISpec

/// The state directory, `--root` (default /run/crun-fast): one directory per container holding
/// state.json (written atomically) and, between create and start, exec.fifo. Every command that reads
/// or changes a container holds an flock on its directory, so two commands on one container serialize.
public struct StateStore: Sendable {
  public let root: String

  public init(root: String) { self.root = root }

  public func directory(_ id: String) -> String { "\(root)/\(id)" }
  public func fifo(_ id: String) -> String { "\(root)/\(id)/exec.fifo" }
  /// "VERSION PATH" of the container's cgroup, written before the cgroup is made: what lets `delete` remove
  /// it when `create` died before state.json was written.
  public func cgroupRecord(_ id: String) -> String { "\(root)/\(id)/cgroup" }
  /// Compiled seccomp programs; `@` cannot occur in a container id, so this never collides with one.
  public var seccompCache: String { "\(root)/@seccomp" }

  /// Makes the container's directory and locks it; fails if the id is taken. 0711: the init, which may
  /// run as any user, opens exec.fifo below it through a descriptor, never by the path above it.
  public func claim(_ id: String) throws -> ContainerLock {
    try ContainerID.validate(id)
    try Files.makeDirectories(root, mode: 0o700)
    let path = directory(id)
    guard try Files.makeDirectory(path, mode: 0o711) else { throw RuntimeError("container \"\(id)\" already exists") }
    chmod(path, 0o711)
    return try ContainerLock(path, exclusive: true)
  }

  /// Locks an existing container's directory; an unknown id (or one deleted while we waited) is an error.
  public func lock(_ id: String, exclusive: Bool) throws -> ContainerLock {
    try ContainerID.validate(id)
    let path = directory(id)
    do {
      let lock = try ContainerLock(path, exclusive: exclusive)
      if (lock.status()?.st_nlink ?? 0) == 0 {
        lock.release()
        throw RuntimeError("container \"\(id)\" does not exist")
      }
      return lock
    } catch let error as SystemError where error.errno == .ENOENT {
      throw RuntimeError("container \"\(id)\" does not exist")
    }
  }

  public func load(_ id: String) throws -> ContainerState {
    let path = "\(directory(id))/state.json"
    let bytes: [UInt8]
    do {
      bytes = try Files.read(path)
    } catch let error as SystemError where error.errno == .ENOENT {
      throw RuntimeError("container \"\(id)\" does not exist")
    }
    do {
      return try ContainerState(json: try JSONValue(parsing: bytes))
    } catch let error as JSONFieldError {
      throw RuntimeError(path, cause: error)
    } catch {
      throw RuntimeError("\(path): not valid JSON", cause: error)
    }
  }

  /// Writes state.json (see StateJSON.swift for why not JSONEncoder).
  public func save(_ state: ContainerState) throws {
    try Files.writeAtomically(
      "\(directory(state.id))/state.json", state.json.encoded(), mode: 0o600, durable: false)
  }

  /// Removes the container's directory and everything in it.
  public func remove(_ id: String) {
    Files.removeTree(directory(id))
  }

  /// The ids of every container directory, sorted.
  public func ids() -> [String] {
    ((try? Files.list(root)) ?? []).filter {
      (try? ContainerID.validate($0)) != nil && Files.isDirectory("\(root)/\($0)")
    }
    .sorted()
  }
}

/// An flock on a container's directory, released by `release()`, when the last reference goes, or when
/// the process exits.
public final class ContainerLock: Sendable {
  private let lock: FileLock

  init(_ path: String, exclusive: Bool) throws {
    guard let lock = try FileLock.acquire(path, exclusive: exclusive, directory: true) else {
      throw SystemError("flock", path: path, errno: .EAGAIN)  // not reached: a waiting lock is always had
    }
    self.lock = lock
  }

  public func release() { lock.unlock() }

  /// fstat(2) of the locked directory, until released.
  func status() -> stat? { lock.status() }
}
