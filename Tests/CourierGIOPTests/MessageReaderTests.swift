import CourierCore
import CourierGIOP
import CourierInProcess
import Synchronization
import CourierWire
import Foundation
import Testing

/// A stream that plays a script: chunks of data, and deadline expiries in between.
final class ScriptedStream: ByteStream, @unchecked Sendable {
  // @unchecked: used by one reader thread only.
  enum Step {
    case data([UInt8])
    case timeout
  }

  private var steps: [Step]

  init(_ steps: [Step]) { self.steps = steps }

  func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {}

  func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int {
    guard !steps.isEmpty else { return 0 }
    switch steps.removeFirst() {
    case .timeout:
      throw TransportError(.timedOut, "scripted deadline")
    case .data(let chunk):
      let n = min(chunk.count, buffer.count)
      chunk.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
      if n < chunk.count { steps.insert(.data(Array(chunk[n...])), at: 0) }
      return n
    }
  }

  func shutdown() {}
  var peerDescription: String { "script" }
}

@Suite("GIOPMessageReader")
struct MessageReaderTests {
  /// Reads with a deadline; returns the message, or nil after a timeout.
  func next(_ reader: inout GIOPMessageReader) throws -> GIOPIncoming? {
    do {
      return try reader.next(deadline: .now + .seconds(1))
    } catch {
      if case .transport(let t) = error, t.code == .timedOut { return nil }
      throw error
    }
  }

  @Test(arguments: [5, 12, 20, 30, 43])
  func deadlineInTheMiddleOfAMessageLosesNothing(_ cut: Int) throws {
    // A client call that times out while another caller's reply is half read must leave the
    // connection readable: the next read continues the same message.
    let first = try Golden.load("reply_echo16_1_2").bytes  // 44 bytes
    let second = try Golden.load("reply_add_1_2").bytes
    let stream = ScriptedStream([.data(Array(first[..<cut])), .timeout, .data(Array(first[cut...]) + second)])
    var reader = GIOPMessageReader(stream: stream, maxMessageSize: 1 << 20)
    let timedOut = try next(&reader)
    #expect(timedOut == nil, "the scripted timeout")
    let r1 = try next(&reader)
    let m1 = try #require(r1)
    #expect(m1.bytes == first)
    let r2 = try next(&reader)
    let m2 = try #require(r2)
    #expect(m2.bytes == second)
  }

  @Test func deadlineBetweenFragmentsLosesNothing() throws {
    let file = try Golden.load("reply_echo9000_1_2")
    let all = file.bytes
    let cuts = [file.messageRanges[0].upperBound, file.messageRanges[0].upperBound + 100, 5000]
    var steps: [ScriptedStream.Step] = []
    var start = 0
    for c in cuts.sorted() {
      steps += [.data(Array(all[start..<c])), .timeout]
      start = c
    }
    steps.append(.data(Array(all[start...])))
    var reader = GIOPMessageReader(stream: ScriptedStream(steps), maxMessageSize: 1 << 20)
    var message: GIOPIncoming?
    for _ in 0..<10 where message == nil { message = try next(&reader) }
    let m = try #require(message)
    var r = m.bodyReader()
    _ = try ReplyHeader.decode(from: &r, version: .v1_2)
    #expect(try r.readOctetSequence() == pattern(9000))
  }

  @Test func smallBufferLargeMessages() throws {
    // A 16-byte read buffer: every message is read mostly straight into its own storage.
    let names = ["reply_echo9000_1_0", "reply_add_1_2", "request_echo9000_1_1", "locate_reply_1_0", "close_connection"]
    var stream: [UInt8] = []
    for n in names { stream += try Golden.load(n).bytes }
    var reader = GIOPMessageReader(stream: MemoryStream(stream, drip: 1...7, seed: 5), maxMessageSize: 1 << 20, bufferSize: 16)
    var types: [GIOPMessageType] = []
    for _ in 0..<names.count { types.append(try reader.next().header.messageType) }
    #expect(types == [.reply, .reply, .request, .locateReply, .closeConnection])
    do {
      _ = try reader.next()
      Issue.record("read past the end")
    } catch {
      guard case .closed = error else { Issue.record("wrong error \(error)"); return }
    }
  }
}

/// A client call times out while its (large) reply is half way through the connection; the
/// next call on the same connection must still work.
@Suite("timeouts in the middle of a reply")
struct TimeoutMidReplyTests {
  @Test func connectionSurvivesATimeoutInTheMiddleOfAReply() throws {
    let transport = InProcessTransport()
    let listener = transport.listener
    final class Counter: Sendable { let value = Atomic<Int>(0) }
    let served = Counter()
    spawnThread(name: "half-reply-server") {
      guard let stream = try? listener.accept() else { return }
      defer { stream.shutdown() }
      var reader = GIOPMessageReader(stream: stream, maxMessageSize: 1 << 20)
      var session = ServerSession()
      // Request 1: send the first half of a 64 KiB reply, wait for the client's CancelRequest
      // (it sends one when its deadline passes), then the rest.
      guard let m1 = try? reader.next(deadline: .now + .seconds(5)), case .request(let d1) = session.handle(m1) else { return }
      var b = GIOPMessageBuilder(.reply, version: m1.header.version)
      ReplyHeader(requestID: d1.header.requestID, status: .noException).encode(to: &b.writer, version: m1.header.version)
      b.beginBody()
      b.writer.writeOctetSequence(pattern(65536))
      let reply = b.finish()
      guard (try? stream.write(Array(reply[..<30000]))) != nil else { return }
      guard let cancel = try? reader.next(deadline: .now + .seconds(5)), cancel.header.messageType == .cancelRequest else { return }
      guard (try? stream.write(Array(reply[30000...]))) != nil else { return }
      served.value.add(1, ordering: .sequentiallyConsistent)
      // Request 2: a normal answer.
      guard let m2 = try? reader.next(deadline: .now + .seconds(5)), case .request(let d2) = session.handle(m2) else { return }
      var b2 = GIOPMessageBuilder(.reply, version: m2.header.version)
      ReplyHeader(requestID: d2.header.requestID, status: .noException).encode(to: &b2.writer, version: m2.header.version)
      b2.beginBody()
      b2.writer.write(Int64(42))
      // Counted before the reply goes out: the client checks the count once it has the reply.
      served.value.add(1, ordering: .sequentiallyConsistent)
      _ = try? stream.write(b2.finish())
      _ = try? reader.next(deadline: .now + .seconds(5))
    }
    defer { listener.close() }
    let connector = RecordingConnector(transport.connector)
    let orb = ORB(connector: connector)
    defer { orb.shutdown() }
    let ref = orb.object(try IOR(typeID: "", profile: IIOPProfile(version: .v1_2, host: "inprocess", port: 1, objectKey: echoKey)))
    expectRPCError(.timeout) {
      _ = try ref.invoke("echoBytes", options: CallOptions(timeout: .milliseconds(100))) { w in w.writeOctetSequence([1]) }
    }
    var reply = try ref.invoke("add", options: CallOptions(timeout: .seconds(5))) { w in
      w.write(Int64(40))
      w.write(Int64(2))
    }
    #expect(try reply.read(Int64.self) == 42)
    #expect(served.value.load(ordering: .sequentiallyConsistent) == 2)
    #expect(connector.opened.count == 1, "the connection broke and was replaced")
  }
}
