import CourierExamples
import CourierONC
import CourierWire
import Synchronization
import Testing

/// The types and stubs CourierIDLPlugin generates from FileReadWrite.x: golden bytes both ways
/// (as rpcgen's XDR routines write them: `char buffer[MAX]` is 1000 four-byte ints), and a
/// client stub calling a dispatcher through an in-process caller.
@Suite("FileReadWrite.x: generated types and stubs")
struct FileReadWriteTests {
  static func int(_ v: Int32) -> [UInt8] {
    let u = UInt32(bitPattern: v)
    return [UInt8(u >> 24), UInt8(u >> 16 & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u & 0xFF)]
  }

  static let sample: writeargs = {
    var buffer = [Int8](repeating: 0, count: 1000)
    buffer[0] = 72  // "H"
    buffer[1] = -1
    buffer[999] = 127
    return writeargs(f: 7, position: -2, data: Data(length: 2, buffer: buffer))
  }()

  static let sampleBytes: [UInt8] = {
    var bytes: [UInt8] = []
    bytes += int(7)  // f
    bytes += int(-2)  // position
    bytes += int(2)  // data.length
    bytes += int(72)  // data.buffer[0]: xdr_char, a 4-byte int
    bytes += int(-1)  // data.buffer[1]: sign-extended
    for _ in 2..<999 { bytes += int(0) }  // data.buffer[2...998]
    bytes += int(127)  // data.buffer[999]; no length: the array is fixed
    return bytes
  }()

  @Test func writeargsEncodesToRpcgensBytes() throws {
    #expect(MAX == 1000)
    var writer = XDRWriter()
    try Self.sample.encode(to: &writer)
    #expect(writer.bytes.count == 12 + 4 * 1000)
    #expect(writer.bytes == Self.sampleBytes)
    var reader = XDRReader(Self.sampleBytes)
    let decoded = try writeargs(from: &reader)
    #expect(decoded == Self.sample)
    #expect(reader.isAtEnd)
    var again = XDRWriter()
    try decoded.encode(to: &again)
    #expect(again.bytes == Self.sampleBytes)
  }

  @Test func readargsEncodesToThreeInts() throws {
    let args = readargs(f: 1, position: 0x10203, length: 512)
    var writer = XDRWriter()
    try args.encode(to: &writer)
    #expect(writer.bytes == [0, 0, 0, 1, 0, 1, 2, 3, 0, 0, 2, 0])
    var reader = XDRReader(writer.bytes)
    #expect(try readargs(from: &reader) == args)
  }

  @Test func theFixedBufferSizeIsEnforcedBothWays() throws {
    var writer = XDRWriter()
    let short = Data(length: 1, buffer: [1, 2, 3])
    #expect(throws: XDRError.self) { try short.encode(to: &writer) }
    var reader = XDRReader(Array(Self.sampleBytes.dropLast(4)).dropFirst(8).map { $0 })
    #expect(throws: XDRError.self) { try Data(from: &reader) }
  }

  /// Carries calls straight to a dispatcher, through the same encode/decode a network would.
  struct LoopCaller: ONCCaller {
    let dispatcher: any ONCProgramDispatcher

    func call<R>(program: UInt32, version: UInt32, procedure: UInt32, encodeArguments: (inout XDRWriter) throws -> Void,
                 decodeResults: (inout XDRReader) throws -> R) throws -> R {
      var arguments = XDRWriter()
      try encodeArguments(&arguments)
      var reader = XDRReader(arguments.bytes)
      var results = XDRWriter()
      let context = ONCCallContext(xid: 1, program: program, version: version, procedure: procedure, transport: .tcp, client: nil)
      try dispatcher.dispatch(arguments: &reader, results: &results, context: context)
      var resultReader = XDRReader(results.bytes)
      return try decodeResults(&resultReader)
    }
  }

  /// A test service: remembers the last write (not the example's file store).
  final class Memory: FILEREADWRITE.VERSION.Service {
    let last = Mutex<writeargs?>(nil)

    func WRITE(_ arguments: writeargs, context: ONCCallContext) throws {
      #expect(context.procedure == 1)
      last.withLock { $0 = arguments }
    }

    func READ(_ arguments: readargs, context: ONCCallContext) throws -> Data {
      guard let written = last.withLock({ $0 }), arguments.f == written.f else { throw ONCReplyError.systemError }
      return written.data
    }
  }

  @Test func clientStubCallsTheDispatcher() throws {
    let dispatcher = FILEREADWRITE.VERSION.Dispatcher(Memory())
    #expect(dispatcher.program == 9999 && dispatcher.version == 2 && dispatcher.procedures == [1, 2])
    #expect(FILEREADWRITE.program == 9999 && FILEREADWRITE.VERSION.version == 2)
    let client = FILEREADWRITE.VERSION.Client(LoopCaller(dispatcher: dispatcher))
    try client.WRITE(Self.sample)
    let read = try client.READ(readargs(f: 7, position: 0, length: 2))
    #expect(read == Self.sample.data)
    #expect(throws: ONCReplyError.systemError) { try client.READ(readargs(f: 8, position: 0, length: 2)) }
  }

  @Test func unknownProceduresAndBadArgumentsAreReplyErrors() throws {
    let dispatcher = FILEREADWRITE.VERSION.Dispatcher(Memory())
    var results = XDRWriter()
    var empty = XDRReader([])
    let unknown = ONCCallContext(xid: 2, program: 9999, version: 2, procedure: 3, transport: .udp, client: nil)
    #expect(throws: ONCReplyError.procedureUnavailable) { try dispatcher.dispatch(arguments: &empty, results: &results, context: unknown) }
    var truncated = XDRReader(Array(Self.sampleBytes.prefix(100)))
    let write = ONCCallContext(xid: 3, program: 9999, version: 2, procedure: 1, transport: .udp, client: nil)
    #expect(throws: ONCReplyError.garbageArguments) { try dispatcher.dispatch(arguments: &truncated, results: &results, context: write) }
  }
}
