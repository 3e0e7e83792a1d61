import CourierCore
import CourierWire
import Glibc

/// Call deadlines on the wire, as CORBA Messaging carries them: an `INVOCATION_POLICIES`
/// service context (id 7) holding a `PolicyValueSeq` with a `RequestEndTimePolicy`
/// (policy type 28) whose value is an encapsulated `TimeBase::UtcT`.
///
/// A client that calls with a timeout sends its deadline this way; a server does not start a
/// request whose deadline has passed (it answers `TIMEOUT`, `COMPLETED_NO`), and while it
/// serves one, ``IncomingCall/deadline`` is the deadline of every call the servant makes in
/// turn, so a deadline travels down a chain of servers. UtcT is absolute UTC: machines whose
/// clocks disagree see deadlines early or late by the difference.
public enum RequestDeadline {
  /// `IOP::INVOCATION_POLICIES`.
  public static let serviceContextID: UInt32 = 7
  /// `Messaging::REQUEST_END_TIME_POLICY_TYPE`.
  public static let requestEndTimePolicyType: UInt32 = 28
  /// 100 ns intervals from 1582-10-15 00:00 UTC (TimeBase's epoch) to 1970-01-01 00:00 UTC.
  static let unixEpochInTimeT: UInt64 = 0x01B2_1DD2_1381_4000

  /// The current UTC time as a `TimeBase::TimeT`.
  public static func nowTimeT() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return unixEpochInTimeT &+ UInt64(ts.tv_sec) &* 10_000_000 &+ UInt64(ts.tv_nsec) / 100
  }

  /// A duration in TimeT's 100 ns ticks (negative durations count as zero).
  static func ticks(_ d: Duration) -> UInt64 {
    let (secs, attos) = d.components
    guard secs >= 0, attos >= 0 else { return 0 }
    return UInt64(secs) &* 10_000_000 &+ UInt64(attos / 100_000_000_000)
  }

  /// `deadline` (a point on this process's clock) as a TimeBase::TimeT.
  static func timeT(_ deadline: ContinuousClock.Instant) -> UInt64 {
    let (secs, attos) = ContinuousClock.now.duration(to: deadline).components
    let delta = secs &* 10_000_000 &+ attos / 100_000_000_000
    return delta >= 0 ? nowTimeT() &+ UInt64(delta) : nowTimeT() &- UInt64(-delta)
  }

  /// A TimeBase::TimeT as a point on this process's clock.
  static func instant(_ time: UInt64) -> ContinuousClock.Instant {
    let now = nowTimeT()
    let clock = ContinuousClock.now
    if time >= now { return clock + .nanoseconds(Int64(min(time - now, UInt64(Int64.max / 100))) * 100) }
    return clock - .nanoseconds(Int64(min(now - time, UInt64(Int64.max / 100))) * 100)
  }

  /// The size of the context's data: a PolicyValueSeq of one RequestEndTimePolicy.
  static let contextDataSize = 40

  /// Writes the context data for end time `time` into `out` (40 bytes, big endian).
  static func writeContextData(_ time: UInt64, into out: UnsafeMutableRawBufferPointer) {
    out.initializeMemory(as: UInt8.self, repeating: 0)
    // [0] flag 0 (big endian); [4] count 1; [8] ptype 28; [12] pvalue length 24;
    // [16] pvalue: flag 0, pad to 8; [24] time; [32] inacclo 0; [36] inacchi 0; [38] tdf 0.
    out.storeBytes(of: UInt32(1).bigEndian, toByteOffset: 4, as: UInt32.self)
    out.storeBytes(of: requestEndTimePolicyType.bigEndian, toByteOffset: 8, as: UInt32.self)
    out.storeBytes(of: UInt32(24).bigEndian, toByteOffset: 12, as: UInt32.self)
    out.storeBytes(of: time.bigEndian, toByteOffset: 24, as: UInt64.self)
  }

  /// The service context for a deadline `deadline` (a point on this process's clock).
  public static func serviceContext(_ deadline: ContinuousClock.Instant) -> ServiceContext {
    var data = [UInt8](repeating: 0, count: contextDataSize)
    data.withUnsafeMutableBytes { writeContextData(timeT(deadline), into: $0) }
    return ServiceContext(id: serviceContextID, data: data)
  }

  /// The end time in INVOCATION_POLICIES context data `bytes[start..<end]` (nil: no
  /// RequestEndTimePolicy in it), and whether that policy was all the context held.
  static func endTime(in bytes: [UInt8], start: Int, end: Int) throws -> (time: UInt64?, only: Bool) {
    guard start < end else { throw CDRError(.truncated, "empty INVOCATION_POLICIES context") }
    var r = CDRReader(bytes, byteOrder: ByteOrder(flag: bytes[start]), position: start + 1, alignmentOrigin: start, end: end)
    let count = try r.readCount(minimumElementSize: 8)
    var found: UInt64?
    for _ in 0..<count {
      let type: UInt32 = try r.read()
      let length = try r.readCount(minimumElementSize: 1)
      let valueStart = r.position
      if type == requestEndTimePolicyType {
        guard length >= 16 else { throw CDRError(.truncated, "RequestEndTimePolicy value of \(length) bytes") }
        var v = CDRReader(bytes, byteOrder: ByteOrder(flag: bytes[valueStart]), position: valueStart + 1,
                          alignmentOrigin: valueStart, end: valueStart + length)
        found = try v.read(UInt64.self)
      }
      r.position = valueStart + length
    }
    return (found, count == 1 && found != nil)
  }

  /// The request end time in an `INVOCATION_POLICIES` context, as a point on this process's
  /// clock; nil if the context has no RequestEndTimePolicy. Malformed contexts throw `MARSHAL`.
  public static func decode(_ context: ServiceContext) throws -> ContinuousClock.Instant? {
    do {
      return try endTime(in: context.data, start: 0, end: context.data.count).time.map(instant)
    } catch let e as CDRError {
      throw RPCError(marshal: e)
    }
  }
}

extension IncomingCall {
  /// The deadline of the request being served (from its `INVOCATION_POLICIES` context), and so
  /// of every call made while serving it; nil if it has none.
  public static var deadline: ContinuousClock.Instant? {
    CurrentCall.peek?.endTime.map(RequestDeadline.instant)
  }

  /// Throws `TIMEOUT` if the request being served has passed its deadline: a long-running
  /// servant calls it between steps, so that work nobody waits for any more stops.
  public static func checkDeadline() throws {
    if let end = CurrentCall.peek?.endTime, RequestDeadline.nowTimeT() >= end {
      throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: .maybe, "the caller's deadline passed while serving the request")
    }
  }
}
