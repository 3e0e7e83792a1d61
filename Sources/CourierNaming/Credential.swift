import CourierCore
public import CourierGIOP
import CourierWire

/// Courier's credential service context: the name a client presents to services that keep
/// access lists (the binder refuses to tell clients not on a registration's list about it).
///
/// The context id is `0x434F5501` ("COU" + 1, a vendor id of Courier's own, not registered
/// with the OMG); its data is a CDR encapsulation holding one string.
///
/// ```swift
/// let binder = CourierBinding_Binder.Blocking(ref.with(options: CallOptions(serviceContexts: [Credential.serviceContext("alice")])))
/// ```
///
/// A credential is a claim, not a proof: over plain TCP any client can present any name. It
/// keeps honest clients apart (the seeds' "list of users that can use it"); it is not security.
public enum Credential {
  /// The service context id.
  public static let serviceContextID: UInt32 = 0x434F_5501

  /// A service context presenting `name`.
  public static func serviceContext(_ name: String) -> ServiceContext {
    var w = CDRWriter(capacity: 16 + name.utf8.count, byteOrder: .bigEndian)
    w.append(ByteOrder.bigEndian.flag)
    try? w.writeString(name)  // cannot fail: no bound, UTF-8 char code set
    return ServiceContext(id: serviceContextID, data: w.finishedBytes())
  }

  /// The name in a credential context; `MARSHAL` if the encapsulation is malformed.
  public static func decode(_ context: ServiceContext) throws -> String {
    guard let flag = context.data.first else {
      throw RPCError(.marshal, minor: 0, completion: .no, "empty credential service context")
    }
    var r = CDRReader(context.data, byteOrder: ByteOrder(flag: flag), position: 1)
    do { return try r.readString() } catch let e as CDRError {
      throw RPCError(marshal: e)
    }
  }

  /// The credential of the request being served (nil: the client presented none).
  public static func current() throws -> String? {
    try IncomingCall.serviceContext(id: serviceContextID).map(decode)
  }
}
