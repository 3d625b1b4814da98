import ImageImport
import Testing

@Test func moduleLoads() {}
