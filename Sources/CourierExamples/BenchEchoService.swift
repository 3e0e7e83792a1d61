public import CourierONC

/// The benchmark's ONC RPC program (`BenchEcho.x`, the peers' `echo.x`): ADD returns the sum,
/// ECHO the bytes it was given, PING nothing.
public struct BenchEchoService: BENCH_ECHO_PROG.BENCH_ECHO_VERS.Service {
  public init() {}
  public func ADD(_ arguments: add_args, context: ONCCallContext) throws -> Int64 { arguments.a &+ arguments.b }
  public func ECHO(_ arguments: bytes_t, context: ONCCallContext) throws -> bytes_t { arguments }
  public func PING(context: ONCCallContext) throws {}
}
