import CourierCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The measuring half of the peers' client protocol (`shared/peers/README.md`): a latency run
/// (one caller, warm-up, then CALLS calls or SECONDS) or a throughput run (one thread per
/// caller, or one task for async calls, counted in a window after 0.5 s), reported as one JSON
/// line. Blocking and async callers run the same steps (``LatencyRun``, ``ThroughputRun``).
struct BenchMeasure {
  var system: String
  var payload: String
  var mode: String
  var calls: Int
  var seconds: Double

  static func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
  }

  /// One caller's latency run, step by step, so that blocking and async callers share it:
  /// `while let t0 = run.next() { run.record(t0, ok: call()) }`.
  struct LatencyRun {
    let calls: Int
    var samples: [UInt64] = []
    var errors = 0
    private var warmUpLeft = 2000
    private var warmUpEnd: UInt64
    private var start: UInt64 = 0
    private var stop: UInt64 = 0
    private let seconds: Double

    init(calls: Int, seconds: Double) {
      self.calls = calls
      self.seconds = seconds
      warmUpEnd = BenchMeasure.now() + 2_000_000_000
      samples.reserveCapacity(calls)
    }

    /// The start time of the next call, or nil when the run is over.
    mutating func next() -> UInt64? {
      if warmUpLeft > 0 {
        if BenchMeasure.now() < warmUpEnd { return BenchMeasure.now() }
        warmUpLeft = 0
      }
      if start == 0 {
        start = BenchMeasure.now()
        stop = start + UInt64(seconds * 1e9)
      }
      guard samples.count < calls, errors <= 100 else { return nil }
      let t0 = BenchMeasure.now()
      return t0 < stop ? t0 : nil
    }

    /// Records the call that started at `t0` (warm-up calls count only as errors).
    mutating func record(_ t0: UInt64, ok: Bool) {
      let t1 = BenchMeasure.now()
      if warmUpLeft > 0 {
        warmUpLeft -= 1
        if !ok { errors += 1 }
        return
      }
      if ok { samples.append(t1 - t0) } else { errors += 1 }
    }

    var elapsed: Double { Double(BenchMeasure.now() - start) / 1e9 }
  }

  /// The state throughput callers share: the window, the count, the results.
  final class ThroughputRun: Sendable {
    struct Results {
      var samples: [UInt64] = []
      var errors = 0
    }
    let windowStart: UInt64
    let windowEnd: UInt64
    let limit: Int
    let counted = Atomic<Int>(0)
    let results = Mutex(Results())

    init(calls: Int, seconds: Double) {
      windowStart = BenchMeasure.now() + 500_000_000
      windowEnd = windowStart + UInt64(seconds * 1e9)
      limit = calls
    }

    /// One caller's part: `while let t0 = caller.next() { caller.record(t0, ok: call()) }`,
    /// then `run.finish(caller)`.
    struct Caller {
      let run: ThroughputRun
      var mine: [UInt64] = []
      var errors = 0

      init(_ run: ThroughputRun) {
        self.run = run
        mine.reserveCapacity(1 << 16)
      }

      mutating func next() -> UInt64? {
        let t0 = BenchMeasure.now()
        guard t0 < run.windowEnd, run.counted.load(ordering: .relaxed) < run.limit, errors <= 100 else { return nil }
        return t0
      }

      mutating func record(_ t0: UInt64, ok: Bool) {
        let t1 = BenchMeasure.now()
        guard t0 >= run.windowStart && t1 <= run.windowEnd else { return }
        if ok { mine.append(t1 - t0); run.counted.add(1, ordering: .relaxed) } else { errors += 1 }
      }
    }

    func finish(_ caller: Caller) {
      results.withLock { $0.samples.append(contentsOf: caller.mine); $0.errors += caller.errors }
    }

    var elapsed: Double { Double(min(BenchMeasure.now(), windowEnd) - windowStart) / 1e9 }
  }

  /// A latency run of blocking calls.
  func latency(note: String, _ call: () -> Bool) {
    var run = LatencyRun(calls: calls, seconds: seconds)
    while let t0 = run.next() { run.record(t0, ok: call()) }
    report(samples: run.samples, errors: run.errors, elapsed: run.elapsed, callers: 1, note: note)
  }

  /// A latency run of async calls.
  func latency(note: String, _ call: () async -> Bool) async {
    var run = LatencyRun(calls: calls, seconds: seconds)
    while let t0 = run.next() { run.record(t0, ok: await call()) }
    report(samples: run.samples, errors: run.errors, elapsed: run.elapsed, callers: 1, note: note)
  }

  /// A throughput run of blocking calls: one thread per caller.
  func throughput(note: String, callers: [@Sendable () -> Bool]) {
    let run = ThroughputRun(calls: calls, seconds: seconds)
    let done = ConditionLock()
    let finished = Mutex(0)
    for (i, call) in callers.enumerated() {
      spawnThread(name: "bench-\(i)") {
        var caller = ThroughputRun.Caller(run)
        while let t0 = caller.next() { caller.record(t0, ok: call()) }
        run.finish(caller)
        done.withLock {
          finished.withLock { $0 += 1 }
          done.broadcast()
        }
      }
    }
    done.withLock {
      while finished.withLock({ $0 }) < callers.count { done.wait(until: nil) }
    }
    let result = run.results.withLock { $0 }
    report(samples: result.samples, errors: result.errors, elapsed: run.elapsed, callers: callers.count, note: note)
  }

  /// A throughput run of async calls: one task per caller.
  func throughput(note: String, callers: [@Sendable () async -> Bool]) async {
    let run = ThroughputRun(calls: calls, seconds: seconds)
    await withDiscardingTaskGroup { group in
      for call in callers {
        group.addTask {
          var caller = ThroughputRun.Caller(run)
          while let t0 = caller.next() { caller.record(t0, ok: await call()) }
          run.finish(caller)
        }
      }
    }
    let result = run.results.withLock { $0 }
    report(samples: result.samples, errors: result.errors, elapsed: run.elapsed, callers: callers.count, note: note)
  }

  func report(samples unsorted: [UInt64], errors: Int, elapsed: Double, callers: Int, note: String) {
    let samples = unsorted.sorted()
    func pct(_ p: Double) -> Double {
      guard !samples.isEmpty else { return 0 }
      let rank = max(1, Int((p / 100 * Double(samples.count)).rounded(.up)))
      return Double(samples[min(rank, samples.count) - 1]) / 1000
    }
    let mean = samples.isEmpty ? 0 : Double(samples.reduce(0, +)) / Double(samples.count) / 1000
    func f(_ x: Double) -> String {
      let scaled = (x * 100).rounded() / 100
      return "\(scaled)"
    }
    let cps = elapsed > 0 ? Double(samples.count) / elapsed : 0
    flushedPrint("""
      {"system":"\(system)","payload":"\(payload)","mode":"\(mode)","conc":\(callers),"calls":\(samples.count),"errors":\(errors),\
      "elapsed_s":\(f(elapsed)),"calls_per_s":\(f(cps)),"p50_us":\(f(pct(50))),"p90_us":\(f(pct(90))),"p99_us":\(f(pct(99))),\
      "p999_us":\(f(pct(99.9))),"mean_us":\(f(mean)),"min_us":\(f(samples.isEmpty ? 0 : Double(samples[0]) / 1000)),\
      "max_us":\(f(samples.isEmpty ? 0 : Double(samples[samples.count - 1]) / 1000)),"note":"\(note)"}
      """)
  }
}
