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
  static func nowTimeT() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return unixEpochInTimeT &+ UInt64(ts.tv_sec) &* 10_000_000 &+ UInt64(ts.tv_nsec) / 100
  }

  /// The service context for a deadline `deadline` (a point on this process's clock).
  public static func serviceContext(_ deadline: ContinuousClock.Instant) -> ServiceContext {
    let remaining = ContinuousClock.now.duration(to: deadline)
    let (secs, attos) = remaining.components
    let delta = secs &* 10_000_000 &+ attos / 100_000_000_000
    let end = delta >= 0 ? nowTimeT() &+ UInt64(delta) : nowTimeT() &- UInt64(-delta)
    // UtcT: time, inacclo, inacchi, tdf.
    var utc = CDRWriter(capacity: 24, byteOrder: .bigEndian)
    utc.bytes.append(ByteOrder.bigEndian.flag)
    utc.write(end)
    utc.write(UInt32(0))
    utc.write(UInt16(0))
    utc.write(Int16(0))
    // PolicyValueSeq with one PolicyValue.
    var w = CDRWriter(capacity: 48, byteOrder: .bigEndian)
    w.bytes.append(ByteOrder.bigEndian.flag)
    w.write(UInt32(1))
    w.write(requestEndTimePolicyType)
    w.writeOctetSequence(utc.bytes)
    return ServiceContext(id: serviceContextID, data: w.bytes)
  }

  /// The request end time in an `INVOCATION_POLICIES` context, as a point on this process's
  /// clock; nil if the context has no RequestEndTimePolicy. Malformed contexts throw `MARSHAL`.
  public static func decode(_ context: ServiceContext) throws -> ContinuousClock.Instant? {
    do {
      guard let flag = context.data.first else { throw CDRError(.truncated, "empty INVOCATION_POLICIES context") }
      var r = CDRReader(context.data, byteOrder: ByteOrder(flag: flag), position: 1)
      let count: UInt32 = try r.read()
      guard count <= UInt32(r.remaining / 8) else { throw CDRError(.truncated, "PolicyValueSeq of \(count) in \(r.remaining) bytes") }
      for _ in 0..<count {
        let type: UInt32 = try r.read()
        let value = try r.readOctetSequence()
        guard type == requestEndTimePolicyType else { continue }
        guard let valueFlag = value.first else { throw CDRError(.truncated, "empty RequestEndTimePolicy value") }
        var v = CDRReader(value, byteOrder: ByteOrder(flag: valueFlag), position: 1)
        let end: UInt64 = try v.read()
        let now = nowTimeT()
        let now2 = ContinuousClock.now
        if end >= now {
          let ticks = min(end - now, UInt64(Int64.max / 100))
          return now2 + .nanoseconds(Int64(ticks) * 100)
        }
        let ticks = min(now - end, UInt64(Int64.max / 100))
        return now2 - .nanoseconds(Int64(ticks) * 100)
      }
      return nil
    } catch let e as CDRError {
      throw RPCError(marshal: e)
    }
  }
}

extension IncomingCall {
  /// The deadline of the request being served (from its `INVOCATION_POLICIES` context), and so
  /// of every call made while serving it; nil if it has none.
  public static var deadline: ContinuousClock.Instant? {
    guard let context = serviceContext(id: RequestDeadline.serviceContextID) else { return nil }
    return try? RequestDeadline.decode(context)
  }

  /// Throws `TIMEOUT` if the request being served has passed its deadline: a long-running
  /// servant calls it between steps, so that work nobody waits for any more stops.
  public static func checkDeadline() throws {
    if let deadline, ContinuousClock.now >= deadline {
      throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: .maybe, "the caller's deadline passed while serving the request")
    }
  }
}
