import Glibc

/// Threads of our own, for work that blocks (network requests): `DispatchQueue.concurrentPerform` runs at
/// most one iteration per CPU at a time, so eight blocking requests on two CPUs were two at a time.
public enum Threads {
  /// Runs `body(0)` … `body(count - 1)` each on a thread of its own, and returns when all have.
  public static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    var threads: [pthread_t] = []
    for i in 0..<count {
      let box = Unmanaged.passRetained(Job { body(i) })
      var thread = pthread_t()
      let rc = pthread_create(
        &thread, nil,
        { raw in
          let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
          job.body()
          return nil
        }, box.toOpaque())
      if rc == 0 {
        threads.append(thread)
      } else {
        box.takeRetainedValue().body()  // no thread to be had: run it here
      }
    }
    for thread in threads { pthread_join(thread, nil) }
  }

  private final class Job {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
  }
}
