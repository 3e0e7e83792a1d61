// swift-tools-version: 6.1
import PackageDescription

/// Settings every Courier target shares (see shared/STYLE.md).
let sharedSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
  name: "courier",
  products: [
    .library(name: "CourierWire", targets: ["CourierWire"]),
    .library(name: "CourierCore", targets: ["CourierCore"]),
    .library(name: "CourierGIOP", targets: ["CourierGIOP"]),
    .library(name: "CourierONC", targets: ["CourierONC"]),
    .library(name: "CourierNIO", targets: ["CourierNIO"]),
    .library(name: "CourierInProcess", targets: ["CourierInProcess"]),
    .library(name: "CourierIDL", targets: ["CourierIDL"]),
    .library(name: "CourierCodeGen", targets: ["CourierCodeGen"]),
    .library(name: "CourierSwiftExport", targets: ["CourierSwiftExport"]),
    .library(name: "CourierNaming", targets: ["CourierNaming"]),
    .library(name: "CourierDurable", targets: ["CourierDurable"]),
    .library(name: "CourierActors", targets: ["CourierActors"]),
    .executable(name: "courier", targets: ["courier"]),
    .executable(name: "courier-idl", targets: ["courier-idl"]),
    .plugin(name: "CourierIDLPlugin", targets: ["CourierIDLPlugin"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/swiftlang/swift-syntax", from: "603.0.1"),
  ],
  targets: [
    // External data representation: CDR streams and the Codable bridge. No I/O.
    .target(name: "CourierWire", swiftSettings: sharedSettings),
    // ONC RPC (RFC 5531) beside GIOP: messages, record marking.
    .target(name: "CourierONC", dependencies: ["CourierWire", "CourierCore"], swiftSettings: sharedSettings),
    // Invocation model: errors, object adapter, servants, dispatch.
    .target(
      name: "CourierCore",
      dependencies: ["CourierWire", .product(name: "Logging", package: "swift-log")],
      swiftSettings: sharedSettings
    ),
    // GIOP messages, IOR/corbaloc, client and server protocol sessions.
    .target(
      name: "CourierGIOP",
      dependencies: ["CourierCore", "CourierWire", .product(name: "Logging", package: "swift-log")],
      swiftSettings: sharedSettings
    ),
    // Network transports (TCP on POSIX sockets; see the module's docs for why).
    .target(
      name: "CourierNIO",
      dependencies: ["CourierGIOP", "CourierONC", "CourierCore", "CourierWire", .product(name: "Logging", package: "swift-log")],
      swiftSettings: sharedSettings
    ),
    // In-process transport for tests and colocated calls.
    .target(
      name: "CourierInProcess",
      dependencies: ["CourierGIOP", "CourierCore", "CourierNIO"],
      swiftSettings: sharedSettings
    ),
    // The benchmark's and the seeds' interfaces (Bench::Echo, Demo::PersonList,
    // Demo::ShapeList) and the semantics examples (Faults::Counter, Demo::Bank): IDL compiled
    // at build time by CourierIDLPlugin, and implementations.
    .target(
      name: "CourierExamples",
      dependencies: ["CourierGIOP", "CourierCore", "CourierWire", "CourierONC", .product(name: "Logging", package: "swift-log")],
      exclude: ["courier-idl.json"],
      swiftSettings: sharedSettings,
      plugins: ["CourierIDLPlugin"]
    ),
    // The CosNaming naming service (generated code committed; scripts/generate.sh).
    .target(
      name: "CourierNaming",
      dependencies: ["CourierGIOP", "CourierCore", "CourierWire", .product(name: "GRDB", package: "GRDB.swift")],
      exclude: ["CosNaming.idl", "Binder.idl"],
      swiftSettings: sharedSettings
    ),
    // Exactly-once: the durable reply history (servers) and call log (clients), in SQLite.
    .target(
      name: "CourierDurable",
      dependencies: ["CourierGIOP", "CourierCore", "CourierWire", .product(name: "GRDB", package: "GRDB.swift")],
      swiftSettings: sharedSettings
    ),
    // Swift distributed actors on the ORB: the actor system, leases (distributed GC), the registry.
    .target(
      name: "CourierActors",
      dependencies: ["CourierActorsShim", "CourierGIOP", "CourierCore", "CourierWire", "CourierNIO",
                     .product(name: "Logging", package: "swift-log")],
      swiftSettings: sharedSettings
    ),
    // The seeds' ShapeList, a @Resolvable Greeter and the race's ShapeHolder as distributed actors.
    .target(name: "CourierActorExamples", dependencies: ["CourierActors"], swiftSettings: sharedSettings),
    // The bounds of the image's accessible-functions section (distributed method thunks), in C.
    .target(name: "CourierActorsShim"),
    // Interface compilers: the OMG IDL front end and the interface model (no runtime dependency).
    .target(name: "CourierIDL", swiftSettings: sharedSettings),
    // Swift stubs, skeletons and types from the interface model (no runtime dependency).
    .target(name: "CourierCodeGen", dependencies: ["CourierIDL"], swiftSettings: sharedSettings),
    // OMG IDL from Swift distributed actor declarations (reads Swift source with swift-syntax;
    // no runtime dependency).
    .target(
      name: "CourierSwiftExport",
      dependencies: [.product(name: "SwiftSyntax", package: "swift-syntax"), .product(name: "SwiftParser", package: "swift-syntax")],
      swiftSettings: sharedSettings
    ),
    // The IDL compiler's command line: a thin shell around CourierIDL, CourierCodeGen and
    // CourierSwiftExport.
    .executableTarget(
      name: "courier-idl",
      dependencies: ["CourierIDL", "CourierCodeGen", "CourierSwiftExport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: sharedSettings
    ),
    // SwiftPM build tool plugin: compiles a target's .idl files with courier-idl.
    .plugin(name: "CourierIDLPlugin", capability: .buildTool(), dependencies: ["courier-idl"]),
    .executableTarget(
      name: "courier",
      dependencies: [
        "CourierWire", "CourierCore", "CourierGIOP", "CourierNIO", "CourierExamples", "CourierNaming",
        "CourierDurable", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        "CourierActors", "CourierActorExamples",
      ],
      swiftSettings: sharedSettings
    ),
    // Helpers the test targets share (running peer programs with a bound).
    .target(name: "CourierTestSupport", path: "Tests/CourierTestSupport", swiftSettings: sharedSettings),
    .testTarget(
      name: "CourierWireTests",
      dependencies: ["CourierWire", .product(name: "PropertyBased", package: "swift-property-based")],
      swiftSettings: sharedSettings
    ),
    .testTarget(
      name: "CourierGIOPTests",
      dependencies: ["CourierGIOP", "CourierCore", "CourierWire", "CourierInProcess", "CourierNIO", "CourierExamples"],
      swiftSettings: sharedSettings
    ),
    .testTarget(
      name: "CourierONCTests",
      dependencies: ["CourierONC", "CourierWire", "CourierCore", "CourierNIO", "CourierTestSupport", "CourierExamples"],
      exclude: ["Golden"],
      swiftSettings: sharedSettings
    ),
    .testTarget(
      name: "CourierActorsTests",
      dependencies: ["CourierActors", "CourierActorExamples", "CourierTestSupport", "CourierGIOP", "CourierCore",
                     "CourierWire", "CourierNIO", "CourierNaming", "CourierSwiftExport"],
      swiftSettings: sharedSettings
    ),
    .testTarget(
      name: "CourierDurableTests",
      dependencies: ["CourierDurable", "CourierGIOP", "CourierCore", "CourierWire", "CourierNIO",
                     .product(name: "GRDB", package: "GRDB.swift")],
      swiftSettings: sharedSettings
    ),
    .testTarget(
      name: "CourierIDLTests",
      dependencies: ["CourierIDL"],
      resources: [.copy("Fixtures")],
      swiftSettings: sharedSettings
    ),
    .testTarget(
      name: "CourierCodeGenTests",
      dependencies: ["CourierTestSupport", "CourierIDL", "CourierCodeGen"],
      resources: [.copy("Snapshots")],
      swiftSettings: sharedSettings
    ),
    .testTarget(
      name: "CourierSwiftExportTests",
      dependencies: ["CourierSwiftExport", "CourierIDL", "CourierTestSupport"],
      swiftSettings: sharedSettings
    ),
    // Everything.idl compiled by the plugin; every construct against omniORB, both ways.
    .testTarget(
      name: "CourierIDLInteropTests",
      dependencies: ["CourierTestSupport", "CourierGIOP", "CourierCore", "CourierWire", "CourierNIO", "CourierInProcess"],
      swiftSettings: sharedSettings,
      plugins: ["CourierIDLPlugin"]
    ),
    .testTarget(
      name: "CourierNamingTests",
      dependencies: ["CourierTestSupport", "CourierNaming", "CourierExamples", "CourierGIOP", "CourierCore", "CourierWire", "CourierNIO"],
      swiftSettings: sharedSettings
    ),
    .testTarget(
      name: "CourierNIOTests",
      dependencies: ["CourierTestSupport", "CourierGIOP", "CourierCore", "CourierWire", "CourierNIO", "CourierInProcess", "CourierExamples"],
      swiftSettings: sharedSettings
    ),
  ]
)
