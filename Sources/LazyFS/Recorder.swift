import Codecs
import Dispatch
import Logging
import Profiles
import Synchronization

/// `lazyfs mount --record`: notes each extent of the image the first time a read needs it, in order, and
/// saves them as a run of the image's profile (`ProfileStore.add`) when the window closes: once reads
/// have stopped bringing anything new for `idle` (the workload has started and gone quiet), when asked
/// (`lazyfs profile save`), or at unmount. One window a mount: a second save has nothing to add.
///
/// Only reads that reach the mount are seen: on a fresh mount that is every first read of a page, which
/// is what a cold node has to fetch.
public final class Recorder: Sendable {
  struct State {
    /// One bit per extent of the index: read already.
    var seen: [UInt64]
    var order: [(entry: UInt32, extent: UInt32)] = []
    var lastNew = ContinuousClock.now
    var open = true
  }

  let image: Digest
  /// Where the run goes.
  let path: String
  let idle: Duration
  private let state: Mutex<State>
  private let logger: Logger

  init(image: Digest, extentCount: Int, path: String, idle: Duration, logger: Logger) {
    self.image = image
    self.path = path
    self.idle = idle
    self.logger = logger
    state = Mutex(State(seen: [UInt64](repeating: 0, count: (extentCount + 63) / 64)))
  }

  /// Notes extents `extents` of file `entry` as read.
  func note(entry: Int, extents: Range<Int>) {
    state.withLock { s in
      guard s.open else { return }
      for k in extents where k / 64 < s.seen.count {
        let bit = UInt64(1) << UInt64(k % 64)
        if s.seen[k / 64] & bit == 0 {
          s.seen[k / 64] |= bit
          s.order.append((UInt32(entry), UInt32(k)))
          s.lastNew = .now
        }
      }
    }
  }

  var isOpen: Bool { state.withLock { $0.open } }

  /// Closes the window and saves the run, merged into the profile at `path`. Returns the profile written,
  /// or nil when the window was closed already or saw no read.
  @discardableResult
  func save(reason: String) throws -> Profile? {
    let order = state.withLock { s -> [(entry: UInt32, extent: UInt32)]? in
      guard s.open else { return nil }
      s.open = false
      return s.order
    }
    guard let order, !order.isEmpty else { return nil }
    let profile = try ProfileStore.add(Profile(image: image, firstReads: order), at: path)
    logger.info(
      "recorded \(order.count) extents (\(reason)); profile \(path) now merges \(profile.runs) runs, \(profile.records.count) extents"
    )
    return profile
  }

  /// Saves the run once reads have brought nothing new for `idle`, checking every quarter of it.
  func closeWhenIdle() {
    let tick = idle / 4
    DispatchQueue.global().asyncAfter(
      deadline: .now()
        + .milliseconds(Int(tick.components.seconds * 1000 + tick.components.attoseconds / 1_000_000_000_000_000))
    ) { [self] in
      let (open, quiet) = state.withLock { s in (s.open, !s.order.isEmpty && ContinuousClock.now - s.lastNew >= idle) }
      guard open else { return }
      if quiet {
        do { try save(reason: "no new reads for \(idle)") } catch {
          logger.error("saving the recorded profile: \(error)")
        }
      } else {
        closeWhenIdle()
      }
    }
  }
}
