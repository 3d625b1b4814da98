import CCurl
import Dispatch
import Glibc
import Synchronization

/// Why a fetch from a remote store failed: the URL, and what went wrong there.
public struct RemoteError: Error, CustomStringConvertible, Sendable {
  public let url: String
  public let reason: String
  /// Worth another try (no answer, a reset, a 5xx); a 404 or a bad digest is not.
  public let transient: Bool
  public var description: String { "\(url): \(reason)" }
  public init(_ url: String, _ reason: String, transient: Bool = false) {
    self.url = url
    self.reason = reason
    self.transient = transient
  }
}

/// HTTP(S) GETs, whole files and byte ranges, through libcurl. Handles are pooled so that connections
/// stay open between requests (a lazy mount makes many small range requests to one host); any number of
/// threads may fetch at once, each on its own handle.
public final class HTTPClient: @unchecked Sendable {
  /// Idle curl handles, as addresses (a pointer is not Sendable; each handle is used by one thread at a time).
  private let idle = Mutex<[UInt]>([])
  /// Attempts per request, and the wait before the second (doubling after).
  public var attempts = 3
  public var backoffMilliseconds = 100
  public var connectTimeoutMilliseconds = 2000
  /// A transfer slower than 1 KiB/s for this long is abandoned (a server that stopped answering).
  public var stallSeconds = 10
  /// The most one `get` takes, its attempts and waits included: a hung server costs a reader this long,
  /// then EIO (`lazyfs mount --remote-timeout`).
  public var deadlineSeconds = HTTPClient.defaultDeadlineSeconds
  public static let defaultDeadlineSeconds = 10.0

  /// How the remote has been doing: for `lazyfs stats`.
  public struct Health: Sendable, Equatable {
    public var failures: Int64 = 0
    public var retries: Int64 = 0
    /// When the last request succeeded and what the last failure was, if any.
    public var lastSuccess: ContinuousClock.Instant?
    public var lastFailure: String?
  }
  private let healthState = Mutex(Health())
  public var health: Health { healthState.withLock { $0 } }

  public init() {}

  /// Why a range request failed when the server answered with more than the range (it ignored Range).
  public static let tooMuch = "the server sent more than was asked for"

  deinit { idle.withLock { for h in $0 { cl_easy_cleanup(UnsafeMutableRawPointer(bitPattern: h)) } } }

  /// GETs `url`, or the bytes `range` of it (answered 206 with exactly those bytes), retrying transient
  /// failures with exponential backoff, all within `deadlineSeconds`.
  public func get(_ url: String, range: Range<UInt64>? = nil) throws -> [UInt8] {
    var wait = backoffMilliseconds
    let deadline = ContinuousClock.now + .milliseconds(Int(deadlineSeconds * 1000))
    for attempt in 1...max(1, attempts) {
      let left = deadline - ContinuousClock.now
      let leftMs = Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
      do {
        let bytes = try once(url, range: range, timeoutMilliseconds: max(1, leftMs))
        healthState.withLock { $0.lastSuccess = .now }
        return bytes
      } catch let e as RemoteError {
        let last = !(e.transient && attempt < attempts && leftMs > wait)
        let failure =
          last && (leftMs <= 0 || e.reason.contains("imed out"))
          ? RemoteError(e.url, "\(e.reason) (no answer within the \(Int(deadlineSeconds)) s deadline)") : e
        healthState.withLock {
          $0.failures += 1
          $0.lastFailure = failure.description
        }
        if last { throw failure }
        healthState.withLock { $0.retries += 1 }
        usleep(UInt32(wait) * 1000)
        wait *= 2
      }
    }
    preconditionFailure("unreachable: the last attempt returns or throws")
  }

  private final class Sink {
    var bytes: [UInt8] = []
    let limit: Int
    init(limit: Int) { self.limit = limit }
  }

  private func once(_ url: String, range: Range<UInt64>?, timeoutMilliseconds: Int) throws -> [UInt8] {
    let handle = idle.withLock { $0.popLast() } ?? UInt(bitPattern: cl_easy_init())
    guard let h = UnsafeMutableRawPointer(bitPattern: handle) else {
      throw RemoteError(
        url, "cannot use libcurl: \(cl_load_error().map { String(cString: $0) } ?? "curl_easy_init failed")")
    }
    var keep = true
    defer {
      if keep { idle.withLock { $0.append(handle) } } else { cl_easy_cleanup(h) }
    }
    cl_easy_reset(h)
    let sink = Sink(limit: range.map { Int($0.count) } ?? Int.max)
    let unmanaged = Unmanaged.passRetained(sink)
    defer { unmanaged.release() }
    cl_setopt_string(h, CURLOPT_URL, url)
    cl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
    cl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 1)
    cl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, min(connectTimeoutMilliseconds, timeoutMilliseconds))
    cl_setopt_long(h, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
    cl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, 1024)
    cl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, stallSeconds)
    cl_setopt_long(h, CURLOPT_TCP_NODELAY, 1)
    if let range { cl_setopt_string(h, CURLOPT_RANGE, "\(range.lowerBound)-\(range.upperBound - 1)") }
    cl_setopt_pointer(h, CURLOPT_WRITEDATA, unmanaged.toOpaque())
    cl_setopt_write(h) { data, size, count, user in
      let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
      let n = size * count
      guard sink.bytes.count + n <= sink.limit else { return 0 }  // more than asked for: abort
      data!.withMemoryRebound(to: UInt8.self, capacity: n) {
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
      }
      return n
    }
    let where_ = range.map { "\(url) (bytes \($0.lowerBound)-\($0.upperBound - 1))" } ?? url
    let rc = cl_easy_perform(h)
    if rc != CURLE_OK {
      keep = false
      let transient = rc != CURLE_WRITE_ERROR && rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT
      let reason =
        rc == CURLE_WRITE_ERROR ? Self.tooMuch : String(cString: cl_easy_strerror(rc))
      throw RemoteError(where_, reason, transient: transient)
    }
    let code = cl_response_code(h)
    let expected = range == nil ? 200 : 206
    guard code == expected else {
      throw RemoteError(where_, "HTTP \(code), expected \(expected)", transient: code >= 500 || code == 429)
    }
    if let range, sink.bytes.count != Int(range.count) {
      throw RemoteError(where_, "short answer: \(sink.bytes.count) of \(range.count) bytes", transient: true)
    }
    return sink.bytes
  }
}
