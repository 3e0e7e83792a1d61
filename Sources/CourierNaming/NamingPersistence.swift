import CourierGIOP
import GRDB

/// Where a naming service keeps its contexts and bindings across restarts: an SQLite file
/// (GRDB), written through on every change before the change is answered, so a `kill -9`
/// loses nothing that was acknowledged (SQLite's journal makes each write atomic).
final class NamingPersistence: Sendable {
  let db: DatabaseQueue

  init(path: String) throws {
    var config = Configuration()
    config.journalMode = .wal
    // The binder may keep its tables in the same file, on its own connection.
    config.busyMode = .timeout(10)
    // NORMAL in WAL mode: each commit is in the log before the call returns, so a killed
    // process loses nothing acknowledged; only a power cut can lose the last commits.
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    db = try DatabaseQueue(path: path, configuration: config)
    try db.write { db in
      try db.execute(sql: """
        CREATE TABLE IF NOT EXISTS context (id INTEGER PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS binding (
          context INTEGER NOT NULL REFERENCES context(id) ON DELETE CASCADE,
          id TEXT NOT NULL, kind TEXT NOT NULL,
          type INTEGER NOT NULL, ior TEXT, local INTEGER,
          PRIMARY KEY (context, id, kind));
        CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT OR IGNORE INTO context (id) VALUES (0);
        INSERT OR IGNORE INTO counter (name, value) VALUES ('next_context', 1);
        """)
    }
  }

  /// Everything stored, as the in-memory store.
  func load(orb: ORB?) throws -> NamingService.Store {
    try db.read { db in
      var store = NamingService.Store()
      store.contexts = [:]
      for id in try Int64.fetchAll(db, sql: "SELECT id FROM context") { store.contexts[UInt64(id)] = [:] }
      store.nextID = UInt64(try Int64.fetchOne(db, sql: "SELECT value FROM counter WHERE name = 'next_context'") ?? 1)
      for row in try Row.fetchAll(db, sql: "SELECT context, id, kind, type, ior, local FROM binding") {
        let context = UInt64(row["context"] as Int64)
        let component = CosNaming_NameComponent(id: row["id"], kind: row["kind"])
        let type = CosNaming_BindingType(rawValue: UInt32(row["type"] as Int64)) ?? .nobject
        let ior: String? = row["ior"]
        let reference = try ior.flatMap { text in try orb.map { try $0.object(text) } }
        let local: Int64? = row["local"]
        store.contexts[context, default: [:]][component] = NamingService.Entry(type: type, reference: reference, localContext: local.map(UInt64.init))
      }
      return store
    }
  }

  func put(context: UInt64, _ component: CosNaming_NameComponent, _ entry: NamingService.Entry) throws {
    let ior = try entry.reference.map { try $0.ior.stringified() }
    try db.write { db in
      try db.execute(sql: "INSERT OR REPLACE INTO binding (context, id, kind, type, ior, local) VALUES (?, ?, ?, ?, ?, ?)",
                     arguments: [Int64(context), component.id, component.kind, Int64(entry.type.rawValue), ior, entry.localContext.map(Int64.init)])
    }
  }

  func remove(context: UInt64, _ component: CosNaming_NameComponent) throws {
    try db.write { db in
      try db.execute(sql: "DELETE FROM binding WHERE context = ? AND id = ? AND kind = ?", arguments: [Int64(context), component.id, component.kind])
    }
  }

  func createContext(_ id: UInt64, next: UInt64) throws {
    try db.write { db in
      try db.execute(sql: "INSERT OR IGNORE INTO context (id) VALUES (?)", arguments: [Int64(id)])
      try db.execute(sql: "UPDATE counter SET value = ? WHERE name = 'next_context'", arguments: [Int64(next)])
    }
  }

  /// A new context bound in `context` under `component`, in one transaction.
  func createBoundContext(_ id: UInt64, next: UInt64, in context: UInt64, _ component: CosNaming_NameComponent,
                          _ entry: NamingService.Entry) throws {
    try db.write { db in
      try db.execute(sql: "INSERT OR IGNORE INTO context (id) VALUES (?)", arguments: [Int64(id)])
      try db.execute(sql: "UPDATE counter SET value = ? WHERE name = 'next_context'", arguments: [Int64(next)])
      try db.execute(sql: "INSERT OR REPLACE INTO binding (context, id, kind, type, ior, local) VALUES (?, ?, ?, ?, ?, ?)",
                     arguments: [Int64(context), component.id, component.kind, Int64(entry.type.rawValue), nil as String?,
                                 entry.localContext.map(Int64.init)])
    }
  }

  func destroyContext(_ id: UInt64) throws {
    try db.write { db in
      try db.execute(sql: "DELETE FROM binding WHERE context = ?", arguments: [Int64(id)])
      try db.execute(sql: "DELETE FROM context WHERE id = ?", arguments: [Int64(id)])
    }
  }
}
