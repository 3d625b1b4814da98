/// Content-defined chunking (FastCDC with normalised chunking, Xia et al., USENIX ATC 2016).
///
/// Cut points depend only on the bytes near them, so an insertion early in a file moves the
/// boundaries of only the chunk it lands in: later versions of a file share their unchanged chunks.
///
/// Sizes, and why:
/// - `minSize` 16 KiB: below this a chunk costs more in index entries (64 bytes each) and remote requests
///   than dedup wins; files under it are one chunk, never scanned.
/// - `averageSize` 64 KiB: the granularity of a lazy read. A cold 4 KiB read fetches at most one block
///   (≤ 256 KiB raw, typically ~64 KiB compressed), which a local disk or a CDN answers in one round trip.
/// - `maxSize` 256 KiB: bounds the work (decompression, hashing) behind any single read.
///
/// These values and the gear table are part of the store's format (`StoreLocation.version`): changing
/// them changes every chunk boundary, and so every digest, and breaks dedup against existing stores.
public enum Chunker {
  public static let minSize = 16 << 10
  public static let averageSize = 64 << 10
  public static let maxSize = 256 << 10

  /// Normalised chunking: a harder test (more bits) before the average size and an easier one after,
  /// which narrows the size distribution around the average. The masks use the high bits of the
  /// fingerprint, which depend on the most recent 64 bytes rather than the last few.
  static let maskSmall: UInt64 = ~(UInt64.max >> 18)  // 18 bits: 1 in 256 Ki before the average
  static let maskLarge: UInt64 = ~(UInt64.max >> 14)  // 14 bits: 1 in 16 Ki after it

  /// 256 pseudo-random words from a fixed SplitMix64 sequence (seed 0x6c617a796673 = "lazyfs").
  static let gear: [UInt64] = {
    var state: UInt64 = 0x6c61_7a79_6673
    return (0..<256).map { _ in
      state &+= 0x9e37_79b9_7f4a_7c15
      var z = state
      z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
      z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
      return z ^ (z >> 31)
    }
  }()

  /// The length of the first chunk of `data`.
  ///
  /// `atEnd` says whether `data` holds the rest of the file. When it does not and no cut point lies
  /// in `data`, returns nil: the caller must supply more bytes (up to `maxSize`) and ask again.
  public static func cut(_ data: UnsafeRawBufferPointer, atEnd: Bool) -> Int? {
    let n = data.count
    if n <= minSize { return atEnd ? n : nil }
    let limit = min(n, maxSize)
    let normal = min(limit, averageSize)
    return gear.withUnsafeBufferPointer { g -> Int? in
      let bytes = data.baseAddress!.assumingMemoryBound(to: UInt8.self)
      var fp: UInt64 = 0
      var i = minSize
      while i < normal {
        fp = (fp << 1) &+ g[Int(bytes[i])]
        if fp & maskSmall == 0 { return i + 1 }
        i += 1
      }
      while i < limit {
        fp = (fp << 1) &+ g[Int(bytes[i])]
        if fp & maskLarge == 0 { return i + 1 }
        i += 1
      }
      if limit == maxSize || atEnd { return limit }
      return nil
    }
  }
}
