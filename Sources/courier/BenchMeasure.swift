import CourierCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The measuring half of the peers' client protocol (`shared/peers/README.md`): a latency run
/// (one caller, warm-up, then CALLS calls or SECONDS) or a throughput run (one thread per
/// caller, counted in a window after 0.5 s), reported as one JSON line.
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

  func latency(note: String, _ call: () -> Bool) {
    var errors = 0
    let warmEnd = BenchMeasure.now() + 2_000_000_000
    for _ in 0..<2000 where BenchMeasure.now() < warmEnd {
      if !call() { errors += 1 }
    }
    var samples: [UInt64] = []
    samples.reserveCapacity(calls)
    let start = BenchMeasure.now()
    let stop = start + UInt64(seconds * 1e9)
    while samples.count < calls {
      let t0 = BenchMeasure.now()
      if t0 >= stop { break }
      let ok = call()
      let t1 = BenchMeasure.now()
      if ok { samples.append(t1 - t0) } else { errors += 1; if errors > 100 { break } }
    }
    let elapsed = Double(BenchMeasure.now() - start) / 1e9
    report(samples: samples, errors: errors, elapsed: elapsed, callers: 1, note: note)
  }

  func throughput(note: String, callers: [@Sendable () -> Bool]) {
    struct Shared {
      var samples: [UInt64] = []
      var errors = 0
    }
    let shared = Mutex(Shared())
    let started = BenchMeasure.now()
    let windowStart = started + 500_000_000
    let windowEnd = windowStart + UInt64(seconds * 1e9)
    let limit = calls
    let counted = Atomic<Int>(0)
    let done = ConditionLock()
    let finished = Mutex(0)
    for (i, call) in callers.enumerated() {
      spawnThread(name: "bench-\(i)") {
        var mine: [UInt64] = []
        mine.reserveCapacity(1 << 16)
        var errors = 0
        while true {
          let t0 = BenchMeasure.now()
          if t0 >= windowEnd || counted.load(ordering: .relaxed) >= limit { break }
          let ok = call()
          let t1 = BenchMeasure.now()
          if t0 >= windowStart && t1 <= windowEnd {
            if ok { mine.append(t1 - t0); counted.add(1, ordering: .relaxed) } else { errors += 1 }
          }
          if errors > 100 { break }
        }
        shared.withLock { $0.samples.append(contentsOf: mine); $0.errors += errors }
        done.withLock {
          finished.withLock { $0 += 1 }
          done.broadcast()
        }
      }
    }
    done.withLock {
      while finished.withLock({ $0 }) < callers.count { done.wait(until: nil) }
    }
    let result = shared.withLock { $0 }
    let elapsed = Double(min(BenchMeasure.now(), windowEnd) - windowStart) / 1e9
    report(samples: result.samples, errors: result.errors, elapsed: elapsed, callers: callers.count, note: note)
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
