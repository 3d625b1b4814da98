import ImageIndex
import Testing

@Test func moduleLoads() {}
