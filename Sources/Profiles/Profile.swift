import Codecs

/// What a container read while it started, in the order it first read it: the working set that the next
/// mount of the image fetches and puts in the page cache ahead of the readers (`lazyfs mount --record`
/// makes one, `--prefetch` replays it).
///
/// A profile names extents of the image's index (an extent is one chunk's piece of one file), so it means
/// something only for the image whose digest it carries, and a profile for another image is refused. Each
/// record says how many of the merged runs read the extent (`seen`) and where, on average, in their order
/// (`rank`, 0 first … 1 last), so that merging more runs stays exact: see `merged`.
public struct Profile: Sendable, Equatable {
  public struct Record: Sendable, Equatable {
    /// The file's entry in the index (the inode's entry: hard links share it).
    public var entry: UInt32
    /// The extent's number in the index.
    public var extent: UInt32
    /// Runs that read it.
    public var seen: UInt32
    /// Its mean position in those runs' first-read order, from 0 (first) to 1 (last).
    public var rank: Float

    public init(entry: UInt32, extent: UInt32, seen: UInt32 = 1, rank: Float) {
      self.entry = entry
      self.extent = extent
      self.seen = seen
      self.rank = rank
    }
  }

  public var image: Digest
  /// Runs merged into this profile.
  public var runs: UInt32
  /// In replay order: what every run read first, by rank; then what only some runs read, by rank.
  public var records: [Record]

  public init(image: Digest, runs: UInt32, records: [Record]) {
    self.image = image
    self.runs = runs
    self.records = records
  }

  /// One run: extents in the order they were first read.
  public init(image: Digest, firstReads: [(entry: UInt32, extent: UInt32)]) {
    let n = Float(max(firstReads.count - 1, 1))
    self.init(
      image: image, runs: 1,
      records: firstReads.enumerated().map { Record(entry: $1.entry, extent: $1.extent, rank: Float($0) / n) })
  }

  /// This profile and `other` as one: every extent either read, nothing lost. An extent's `seen` counts
  /// add up and its rank is the mean over every run that read it, so merging runs one at a time or all
  /// at once gives the same order.
  public func merged(with other: Profile) throws(ProfileError) -> Profile {
    guard other.image == image else { throw .foreign(expected: image, found: other.image) }
    var byExtent: [UInt32: Int] = [:]
    var out = records
    for (i, r) in out.enumerated() { byExtent[r.extent] = i }
    for r in other.records {
      if let i = byExtent[r.extent] {
        let total = out[i].seen + r.seen
        out[i].rank = (out[i].rank * Float(out[i].seen) + r.rank * Float(r.seen)) / Float(total)
        out[i].seen = total
      } else {
        byExtent[r.extent] = out.count
        out.append(r)
      }
    }
    return Profile(image: image, runs: runs + other.runs, records: Self.ordered(out, runs: runs + other.runs))
  }

  /// Replay order: read by every run first, then by fewer runs; within each, by mean rank (ties: extent).
  static func ordered(_ records: [Record], runs: UInt32) -> [Record] {
    records.sorted { a, b in
      let (aAll, bAll) = (a.seen >= runs, b.seen >= runs)
      if aAll != bAll { return aAll }
      if a.rank != b.rank { return a.rank < b.rank }
      return a.extent < b.extent
    }
  }
}
