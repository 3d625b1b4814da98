import ChunkStore
import Testing

@Test func moduleLoads() {}
