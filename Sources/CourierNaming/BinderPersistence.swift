import CourierGIOP
import GRDB

/// Where a binder keeps its registrations and policies across restarts: tables `registration`,
/// `binder_policy` and `binder_counter` in an SQLite file (the naming service's file may be
/// shared: its own tables are distinct). Written through before a change is answered.
final class BinderPersistence: Sendable {
  let db: DatabaseQueue

  struct Loaded {
    var records: [BinderService.Record] = []
    var nextID: UInt64 = 1
    var policies: [String: CourierBinding_Policy] = [:]
  }

  init(path: String) throws {
    var config = Configuration()
    config.journalMode = .wal
    // Another connection (the naming service's) may write the same file.
    config.busyMode = .timeout(10)
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    db = try DatabaseQueue(path: path, configuration: config)
    try db.write { db in
      try db.execute(sql: """
        CREATE TABLE IF NOT EXISTS registration (
          id INTEGER PRIMARY KEY, name TEXT NOT NULL, major INTEGER NOT NULL, minor INTEGER NOT NULL,
          ior TEXT NOT NULL, allowed TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS binder_policy (name TEXT PRIMARY KEY, policy INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS binder_counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT OR IGNORE INTO binder_counter (name, value) VALUES ('next_registration', 1);
        """)
    }
  }

  func load(orb: ORB) throws -> Loaded {
    try db.read { db in
      var loaded = Loaded()
      loaded.nextID = UInt64(try Int64.fetchOne(db, sql: "SELECT value FROM binder_counter WHERE name = 'next_registration'") ?? 1)
      for row in try Row.fetchAll(db, sql: "SELECT id, name, major, minor, ior, allowed FROM registration") {
        let allowedText: String = row["allowed"]
        loaded.records.append(BinderService.Record(
          id: UInt64(row["id"] as Int64), name: row["name"],
          version: CourierBinding_Version(major: UInt16(row["major"] as Int64), minor: UInt16(row["minor"] as Int64)),
          server: try orb.object(row["ior"] as String),
          allowed: allowedText.isEmpty ? [] : allowedText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)))
      }
      for row in try Row.fetchAll(db, sql: "SELECT name, policy FROM binder_policy") {
        if let policy = CourierBinding_Policy(rawValue: UInt32(row["policy"] as Int64)) { loaded.policies[row["name"]] = policy }
      }
      return loaded
    }
  }

  /// Stores a registration (credentials may not contain a newline: they are kept one per line).
  func put(_ record: BinderService.Record, nextID: UInt64) throws {
    let ior = try record.server.ior.stringified()
    try db.write { db in
      try db.execute(sql: "INSERT OR REPLACE INTO registration (id, name, major, minor, ior, allowed) VALUES (?, ?, ?, ?, ?, ?)",
                     arguments: [Int64(record.id), record.name, Int64(record.version.major), Int64(record.version.minor), ior,
                                 record.allowed.joined(separator: "\n")])
      try db.execute(sql: "UPDATE binder_counter SET value = ? WHERE name = 'next_registration'", arguments: [Int64(nextID)])
    }
  }

  func remove(_ id: UInt64) throws {
    try db.write { db in try db.execute(sql: "DELETE FROM registration WHERE id = ?", arguments: [Int64(id)]) }
  }

  func setPolicy(name: String, _ policy: CourierBinding_Policy) throws {
    try db.write { db in
      try db.execute(sql: "INSERT OR REPLACE INTO binder_policy (name, policy) VALUES (?, ?)", arguments: [name, Int64(policy.rawValue)])
    }
  }
}
