public import CourierGIOP
public import GRDB
import Foundation

/// A client's safe storage for exactly-once calls, in SQLite: its identity (made once, kept
/// for ever) and each call from before its first send until its outcome arrives. After a
/// crash or `kill -9`, ``ORB/resumeUnfinishedCalls()`` on a new ORB with the same log retries
/// what was left, under the same identity.
///
/// ```swift
/// var config = ORB.Configuration()
/// config.callLog = try SQLiteCallLog(path: "client.sqlite")
/// let orb = ORB(connector: TCPConnector(), configuration: config)
/// for resumed in try orb.resumeUnfinishedCalls() { … }
/// ```
public final class SQLiteCallLog: DurableCallLog {
  public let database: DatabaseQueue
  public let clientID: String

  /// Opens (or creates) the log at `path`; `clientID` names a new log's client (random if nil).
  public init(path: String, durability: Durability = .powerLoss, clientID: String? = nil) throws {
    var config = Configuration()
    config.journalMode = .wal
    config.busyMode = .timeout(10)
    let synchronous = durability == .powerLoss ? "FULL" : "NORMAL"
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
    database = try DatabaseQueue(path: path, configuration: config)
    self.clientID = try database.write { db in
      try db.execute(sql: """
        CREATE TABLE IF NOT EXISTS courier_client (id TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS courier_call (
          retention INTEGER PRIMARY KEY AUTOINCREMENT,
          target TEXT NOT NULL, operation TEXT NOT NULL,
          arguments BLOB NOT NULL, deadline INTEGER NOT NULL);
        """)
      if let existing = try String.fetchOne(db, sql: "SELECT id FROM courier_client") { return existing }
      let made = clientID ?? "x" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24).lowercased()
      try db.execute(sql: "INSERT INTO courier_client (id) VALUES (?)", arguments: [made])
      return made
    }
  }

  public func record(_ call: LoggedCall) throws -> Int32 {
    try database.write { db in
      try db.execute(sql: "INSERT INTO courier_call (target, operation, arguments, deadline) VALUES (?, ?, ?, ?)",
                     arguments: [call.target, call.operation, Data(call.arguments), Int64(bitPattern: call.deadline)])
      // Retention ids are positive Int32s; AUTOINCREMENT never reuses a rowid.
      return Int32(truncatingIfNeeded: (db.lastInsertedRowID - 1) % Int64(Int32.max) + 1)
    }
  }

  public func complete(_ retentionID: Int32) {
    try? database.write { db in
      try db.execute(sql: "DELETE FROM courier_call WHERE (retention - 1) % ? + 1 = ?", arguments: [Int64(Int32.max), Int64(retentionID)])
    }
  }

  public func unfinished() throws -> [LoggedCall] {
    try database.read { db in
      try Row.fetchAll(db, sql: "SELECT retention, target, operation, arguments, deadline FROM courier_call ORDER BY retention").map { row in
        let rowid: Int64 = row["retention"]
        let bytes: Data = row["arguments"]
        return LoggedCall(retentionID: Int32(truncatingIfNeeded: (rowid - 1) % Int64(Int32.max) + 1), target: row["target"],
                          operation: row["operation"], arguments: Array(bytes), deadline: UInt64(bitPattern: row["deadline"]))
      }
    }
  }
}
