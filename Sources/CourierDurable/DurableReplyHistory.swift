public import CourierGIOP
public import CourierWire
public import GRDB
public import CourierCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How hard a durable store works to keep a commit.
public enum Durability: Sendable {
  /// `synchronous = FULL`: a commit survives a power cut (an fsync per commit).
  case powerLoss
  /// `synchronous = NORMAL` in WAL mode: a commit survives a crash or `kill -9` of the
  /// process, not a power cut (fsync at checkpoints only).
  case processCrash
}

/// The reply history of an exactly-once server: the retained replies in SQLite, each written
/// in the same transaction as the servant's own changes and committed before the reply
/// leaves. A server that crashes between running a request and recording its reply has
/// rolled both back, so the retransmission runs it afresh; one that crashes after the
/// commit answers the retransmission from the file. Either way the request ran once.
///
/// Servants with durable state write it through ``DurableCall/database`` (the transaction
/// of the request being served) — or through ``DurableCall/write(in:_:)``, which uses that
/// transaction when there is one and a transaction of its own otherwise. When the reply is
/// an exception, the servant's changes are rolled back and the exception is the recorded
/// outcome.
///
/// ```swift
/// let history = try DurableReplyHistory(path: "bank.sqlite")
/// var config = GIOPServer.Configuration()
/// config.replyHistory = history
/// ```
///
/// Bounds: replies are deleted when the client acknowledges them (the ORB piggybacks an
/// acknowledgement every few calls) and when their FT_REQUEST expiration passes (swept every
/// 1,024 recorded replies); at most `maxEntries` are kept (oldest dropped first).
public final class DurableReplyHistory: ReplyRetention {
  /// The SQLite file's queue: servants may keep their own tables in it.
  public let database: DatabaseQueue
  public let maxEntries: Int

  struct Key: Hashable {
    var client: String
    var retention: Int32
  }

  struct State {
    var running: Set<Key> = []
    var executions = 0
    var replays = 0
  }

  /// Guarded by `lock` (a condition lock: a duplicate of a running request sleeps on it).
  nonisolated(unsafe) private var state = State()
  private let lock = ConditionLock()

  /// Opens (or creates) the history in the SQLite file at `path`.
  public init(path: String, durability: Durability = .powerLoss, maxEntries: Int = 1_000_000) throws {
    self.maxEntries = max(1, maxEntries)
    var config = Configuration()
    config.journalMode = .wal
    config.busyMode = .timeout(10)
    let synchronous = durability == .powerLoss ? "FULL" : "NORMAL"
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
    database = try DatabaseQueue(path: path, configuration: config)
    try database.write { db in
      try db.execute(sql: """
        CREATE TABLE IF NOT EXISTS courier_reply (
          client TEXT NOT NULL, retention INTEGER NOT NULL,
          expiration INTEGER NOT NULL, message BLOB,
          PRIMARY KEY (client, retention));
        CREATE TABLE IF NOT EXISTS courier_acknowledged (client TEXT PRIMARY KEY, below INTEGER NOT NULL);
        """)
    }
  }

  /// How many requests ran, how many duplicates got a retained reply (since this process
  /// opened the history), and how many replies the file keeps.
  public var statistics: (executions: Int, replays: Int, retained: Int) {
    let (e, r) = lock.withLock { (state.executions, state.replays) }
    let kept = (try? database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM courier_reply") }) ?? 0
    return (e, r, kept)
  }

  public func acknowledge(_ ack: ReplyAcknowledgement) {
    try? database.write { db in
      try db.execute(sql: "DELETE FROM courier_reply WHERE client = ? AND retention < ?",
                     arguments: [ack.clientID, Int64(ack.below)])
      // Remembered, so that a late duplicate of an acknowledged request is refused, not run.
      try db.execute(sql: """
        INSERT INTO courier_acknowledged (client, below) VALUES (?, ?)
        ON CONFLICT (client) DO UPDATE SET below = excluded.below
        """, arguments: [ack.clientID, Int64(ack.below)])
    }
  }

  /// The file outlives the process, so a retransmission's first-send time changes nothing here.
  public func respond(to ft: FTRequestContext, retransmissionOf firstSent: UInt64?, buffer: inout CDRWriter,
                      execute: (inout CDRWriter) -> Bool) throws(RPCError) -> (send: Bool, replayed: Bool) {
    let key = Key(client: ft.clientID, retention: ft.retentionID)
    // One execution at a time per request: a duplicate waits for the first.
    lock.withLock {
      while state.running.contains(key) { _ = lock.wait(until: nil) }
      state.running.insert(key)
    }
    defer {
      lock.withLock {
        state.running.remove(key)
        lock.broadcast()
      }
    }
    do {
      return try database.write { db -> (send: Bool, replayed: Bool) in
        if let row = try Row.fetchOne(db, sql: "SELECT message FROM courier_reply WHERE client = ? AND retention = ?",
                                      arguments: [key.client, Int64(key.retention)]) {
          lock.withLock { state.replays += 1 }
          guard let message = row["message"] as Data? else { return (false, true) }
          buffer.reset()
          message.withUnsafeBytes { buffer.writeRaw($0) }
          return (true, true)
        }
        let below = try Int64.fetchOne(db, sql: "SELECT below FROM courier_acknowledged WHERE client = ?", arguments: [key.client])
        if ReplyHistory.isAcknowledged(key.retention, below: below.map { Int32(truncatingIfNeeded: $0) }) {
          throw ReplyHistory.lateDuplicate
        }
        // The servant's changes and the reply commit together; an exception reply keeps
        // only the reply.
        var sent = false
        try db.inSavepoint {
          sent = DurableCall.with(db) { execute(&buffer) }
          return sent && Self.isNormalReply(buffer) ? .commit : .rollback
        }
        let message: Data? = sent ? buffer.withUnsafeBytes { Data($0) } : nil
        try db.execute(sql: "INSERT INTO courier_reply (client, retention, expiration, message) VALUES (?, ?, ?, ?)",
                       arguments: [key.client, Int64(key.retention), Int64(bitPattern: ft.expirationTime), message])
        let sweep = lock.withLock { () -> Bool in
          state.executions += 1
          return state.executions % 1024 == 0
        }
        if sweep { try sweepExpired(db) }
        return (sent, false)
      }
    } catch let error as RPCError {
      throw error
    } catch {
      // The store failed: nothing was committed, the servant's changes neither. TRANSIENT:
      // the client sends it again.
      throw RPCError(.transient, minor: 0, completion: .no, "the reply history could not record the call: \(error)")
    }
  }

  private func sweepExpired(_ db: Database) throws {
    try db.execute(sql: "DELETE FROM courier_reply WHERE expiration <= ?", arguments: [Int64(bitPattern: RequestDeadline.nowTimeT())])
    let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM courier_reply") ?? 0
    if count > maxEntries {
      try db.execute(sql: "DELETE FROM courier_reply WHERE rowid IN (SELECT rowid FROM courier_reply ORDER BY rowid LIMIT ?)",
                     arguments: [count - maxEntries])
    }
  }

  /// Whether a reply message in `buffer` has status NO_EXCEPTION (a oneway has none: true).
  static func isNormalReply(_ buffer: borrowing CDRWriter) -> Bool {
    buffer.withUnsafeBytes { bytes in
      guard bytes.count >= 12 else { return true }
      let minor = bytes[5]
      let offset = minor >= 2 ? 16 : 20  // after the request id (1.2) or the empty context list and id
      guard bytes.count >= offset + 4 else { return false }
      let little = bytes[6] & 1 == 1
      var status: UInt32 = 0
      for i in 0..<4 { status |= UInt32(bytes[offset + (little ? i : 3 - i)]) << (8 * i) }
      return status == 0
    }
  }
}

/// The durable transaction of the exactly-once request being served on this thread.
public enum DurableCall {
  final class Slot {
    var database: Database?
  }

  static let key: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { pointer in
      if let pointer { Unmanaged<Slot>.fromOpaque(pointer).release() }
    }
    return key
  }()

  static var slot: Slot {
    if let existing = pthread_getspecific(key) { return Unmanaged<Slot>.fromOpaque(existing).takeUnretainedValue() }
    let made = Slot()
    pthread_setspecific(key, Unmanaged.passRetained(made).toOpaque())
    return made
  }

  /// The transaction the request's reply will be recorded in; nil outside an exactly-once
  /// request. Write the servant's state here so that it commits with the reply.
  public static var database: Database? { slot.database }

  static func with<R>(_ db: Database, _ body: () throws -> R) rethrows -> R {
    let s = slot
    let saved = s.database
    s.database = db
    defer { s.database = saved }
    return try body()
  }

  /// Reads in the current request's durable transaction (a servant must not open another:
  /// GRDB's queue is not reentrant), or in a read transaction of `queue` when there is none.
  public static func read<R>(in queue: DatabaseQueue, _ body: (Database) throws -> R) throws -> R {
    if let db = database { return try body(db) }
    return try queue.read { db in try body(db) }
  }

  /// Runs `body` in the current request's durable transaction, or in a write transaction of
  /// `queue` when there is none (a call without exactly-once semantics).
  public static func write<R>(in queue: DatabaseQueue, _ body: (Database) throws -> R) throws -> R {
    if let db = database { return try body(db) }
    return try queue.write { db in try body(db) }
  }
}
