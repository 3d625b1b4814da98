import Codecs
import Profiles
import Testing

@Suite("Profiles: the file, merging runs")
struct ProfileTests {
  let image = Digest.of(Array("image".utf8))

  func run(_ extents: [UInt32]) -> Profile {
    Profile(image: image, firstReads: extents.map { (entry: $0 / 10, extent: $0) })
  }

  @Test("a profile survives its file; every byte of the file matters")
  func roundTrip() throws {
    let p = try run([5, 3, 9, 1]).merged(with: run([3, 5, 7]))
    let bytes = p.encoded
    #expect(try Profile(decoding: bytes, for: image) == p)
    #expect(p.digest == Digest.of(bytes))
    for i in stride(from: 0, to: bytes.count, by: 7) {
      var bad = bytes
      bad[i] ^= 0x40
      #expect(throws: ProfileError.self) { try Profile(decoding: bad, for: image) }
    }
  }

  @Test("truncated, foreign and non-profiles are refused, each with its own reason")
  func refusals() throws {
    let bytes = run([1, 2, 3]).encoded
    #expect(throws: ProfileError.notAProfile) { try Profile(decoding: Array("hello".utf8)) }
    #expect(throws: ProfileError.notAProfile) { try Profile(decoding: Array(bytes.prefix(40))) }
    #expect(throws: ProfileError.truncated) { try Profile(decoding: Array(bytes.dropLast(16))) }
    #expect(throws: ProfileError.corrupt) { try Profile(decoding: bytes + [0]) }
    let other = Digest.of(Array("other".utf8))
    #expect(throws: ProfileError.foreign(expected: other, found: image)) {
      try Profile(decoding: bytes, for: other)
    }
    #expect(try Profile(decoding: bytes).image == image, "without an image to check against, any image's")
  }

  @Test("merging: what every run read comes first in its usual order, then the rest; nothing is lost")
  func mergeOrder() throws {
    let a = run([1, 2, 3, 4, 50])
    let b = run([1, 2, 60, 3, 4])
    let c = run([2, 1, 3, 4, 70])
    let merged = try a.merged(with: b).merged(with: c)
    #expect(merged.runs == 3)
    #expect(Set(merged.records.map(\.extent)) == [1, 2, 3, 4, 50, 60, 70], "the union")
    let order = merged.records.map(\.extent)
    #expect(Array(order.prefix(4)) == [1, 2, 3, 4], "read by all three, by mean rank")
    #expect(Set(order.suffix(3)) == [50, 60, 70], "read by one run each, after")
    #expect(merged.records.first { $0.extent == 3 }?.seen == 3)
    #expect(merged.records.first { $0.extent == 60 }?.seen == 1)
  }

  @Test("merging one at a time or grouped gives the same profile; another image's run is refused")
  func mergeAssociates() throws {
    let (a, b, c) = (run([1, 2, 3]), run([3, 2, 4]), run([4, 1]))
    let left = try a.merged(with: b).merged(with: c)
    let right = try a.merged(with: b.merged(with: c))
    #expect(left.records.map(\.extent) == right.records.map(\.extent))
    #expect(left.records.map(\.seen) == right.records.map(\.seen))
    let foreign = Profile(image: Digest.of(Array("x".utf8)), firstReads: [(0, 1)])
    #expect(throws: ProfileError.self) { try a.merged(with: foreign) }
  }
}
