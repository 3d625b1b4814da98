import Glibc
import LinuxSystem
import Logging
import OCISpec

/// OCI hooks, run where and when the runtime specification (and runc) runs them, each with the container's
/// state JSON on stdin, its own path, args, env and timeout. A hook without env gets the runtime's
/// environment, except startContainer, which gets the container process's:
///
/// | hook | run by | namespaces | when | a failure |
/// |---|---|---|---|---|
/// | prestart, createRuntime | create | the runtime's | the init has made its mounts, before pivot_root | fails create |
/// | createContainer | create | all of the init's | right after those | fails create |
/// | startContainer | the init | the container's | start released it, before execve | fails start |
/// | poststart | start, run | the runtime's | the process runs | a warning |
/// | poststop | delete, run | the runtime's | the container is gone | a warning |
///
/// The init runs the startContainer hooks itself, after pivot_root, like runc; it reads the state from
/// `stateFileName` in the state directory, which `start` writes before releasing it.
enum Hooks {
  static let stateFileName = "hook-state.json"

  /// "exit status 3", "killed by signal 9", or "timed out" (-1) for a wait status.
  static func describe(status: Int32) -> String {
    if status == -1 { return "timed out" }
    let signal = status & 0x7f
    return signal == 0 ? "exit status \((status >> 8) & 0xff)" : "killed by signal \(signal)"
  }
}

/// A create-time hook that failed; the message names the hook and how it ended, with its last line of output.
public struct HookError: CausedError, Sendable {
  public let message: String
  public let cause: (any Error & Sendable)?
  init(description: String, cause: (any Error & Sendable)? = nil) {
    message = description
    self.cause = cause
  }
}

extension Spec.Hook {
  /// argv: `args` as given (argv[0] first), or just the path when there are none.
  var argv: [String] { args.flatMap { $0.isEmpty ? nil : $0 } ?? [path] }
}

extension Spec.Hooks {
  /// Whether the init must stop before pivot_root for prestart, createRuntime or createContainer hooks.
  var runBeforePivot: Bool {
    !(prestart ?? []).isEmpty || !(createRuntime ?? []).isEmpty || !(createContainer ?? []).isEmpty
  }
}

extension Runtime {
  /// Runs `hooks` of `phase` in order, stopping at the first that fails, which is thrown. With
  /// `namespacesOf`, each runs inside that process's namespaces instead of ours.
  func runHooks(_ phase: String, _ hooks: [Spec.Hook]?, state: OCIState, namespacesOf pid: Int32? = nil) throws {
    guard let hooks, !hooks.isEmpty else { return }
    let input = Array(state.json(pretty: false).utf8)
    for hook in hooks {
      let command = HostCommand(
        path: hook.path, arguments: hook.argv, environment: hook.env, input: input, timeout: hook.timeout,
        namespacesOf: pid)
      let outcome: HostCommand.Outcome
      do {
        outcome = try command.run()
      } catch {
        throw HookError(description: "\(phase) hook \"\(hook.path)\" could not be run", cause: error)
      }
      guard outcome.succeeded else {
        let output = outcome.lastLine.map { ": \($0)" } ?? ""
        throw HookError(
          description:
            "\(phase) hook \"\(hook.path)\" failed: \(outcome.describe(timeout: hook.timeout.map(Double.init)))\(output)"
        )
      }
    }
  }

  /// poststart and poststop: the container's fate is settled, so a failure is only logged.
  func runHooksWarning(_ phase: String, _ hooks: [Spec.Hook]?, state: OCIState) {
    do {
      try runHooks(phase, hooks, state: state)
    } catch {
      logger.warning("\(error)")
    }
  }

  /// Writes the state the init's startContainer hooks read, before `start` releases the init.
  func writeHookState(_ state: ContainerState) throws {
    guard !(state.hooks?.startContainer ?? []).isEmpty else { return }
    var oci = ociState(state)
    oci.status = .created
    oci.pid = state.pid
    try Files.writeAtomically(
      "\(store.directory(state.id))/\(Hooks.stateFileName)", Array(oci.json(pretty: false).utf8), mode: 0o644,
      durable: false)
  }
}
