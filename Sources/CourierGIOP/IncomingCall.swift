/// What a servant can learn about the request it is serving, beyond its arguments: the
/// service contexts the client sent (a credential, later a deadline).
///
/// ```swift
/// func lookup(name: String) throws -> ObjectReference? {
///   let who = IncomingCall.serviceContext(id: Credential.serviceContextID)
///   …
/// }
/// ```
///
/// The GIOP server binds them (a task-local value) for the duration of the dispatch, only when
/// the request carried any, so calls without service contexts pay nothing.
public enum IncomingCall {
  @TaskLocal static var contexts: [ServiceContext] = []

  /// The service contexts of the request being served on this thread or task; empty outside
  /// a dispatch or when the request had none.
  public static var serviceContexts: [ServiceContext] { contexts }

  /// The first service context with `id`, if the request carried one.
  public static func serviceContext(id: UInt32) -> ServiceContext? {
    contexts.first { $0.id == id }
  }

  /// Runs `body` as if serving a request that carried `contexts` (for servants called in
  /// process, and for tests).
  public static func with<R>(serviceContexts: [ServiceContext], _ body: () throws -> R) rethrows -> R {
    try $contexts.withValue(serviceContexts, operation: body)
  }
}
