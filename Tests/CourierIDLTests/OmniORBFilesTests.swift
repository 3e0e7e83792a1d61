import Testing
@testable import CourierIDL

/// Every IDL file of Debian's `omniorb-idl` package (71 files), compiled the way omniidl
/// compiles them: `-I/usr/share/idl/omniORB -I/usr/share/idl/omniORB/COS` and `__OMNIIDL__`
/// defined (omniidl's preprocessor defines it; CosLifeCycle.idl needs it to escape `Factory`).
@Suite struct OmniORBFilesTests {
  static let root = "/usr/share/idl/omniORB"
  static let options = IDLFrontEnd.Options(includePaths: [root, root + "/COS"], defines: ["__OMNIIDL__": "1"])

  /// Files omniidl rejects too, for the same reasons (checked by hand against omniidl 4.3's
  /// messages; it reports the same errors, once per use except for repeated IOP look-ups):
  /// IOP.idl is not part of the package, and CORBA::ServiceOption, ServiceDetailType,
  /// PolicyType, Policy, Current, Environment (and, without ir.idl, InterfaceDef) are declared
  /// in none of its files (omniORB declares them in its own headers); Security.idl also has a
  /// member `right` in struct `Right`.
  /// For each: the first diagnostic, the number of diagnostics, and the distinct messages.
  static let expectedFailures: [String: (first: String, count: Int, messages: [String])] = [
    "COS/CosTSPortability.idl": ("\(root)/COS/CosTSPortability.idl:25:7: error: unknown type 'CORBA::Environment'", 1,
                                 ["unknown type 'CORBA::Environment'"]),
    "COS/DCE_CIOPSecurity.idl": ("\(root)/COS/DCE_CIOPSecurity.idl:10:10: error: cannot find include file 'IOP.idl'", 3,
                                 [missingIOP, unknownComponentId, unknownTaggedComponent]),
    "COS/SECIOP.idl": ("\(root)/COS/SECIOP.idl:15:10: error: cannot find include file 'IOP.idl'", 40,
                       [missingIOP] + security + [unknownComponentId, unknownTaggedComponent]),
    "COS/SSLIOP.idl": ("\(root)/COS/SSLIOP.idl:10:10: error: cannot find include file 'IOP.idl'", 31,
                       [missingIOP] + security + [unknownComponentId]),
    "COS/Security.idl": (serviceOptionError, 29, security),
    "COS/SecurityLevel1.idl": (serviceOptionError, 30, security + ["unknown interface 'CORBA::Current'"]),
    "COS/SecurityLevel2.idl": (serviceOptionError, 36, security + level2),
    "COS/SecurityReplaceable.idl": (serviceOptionError, 36, security + level2),
    "COS/NRService.idl": (serviceOptionError, 37, security + level2),
    "COS/SecurityAdmin.idl": (serviceOptionError, 48, security + level2 + ["unknown type 'CORBA::InterfaceDef'"]),
  ]
  static let missingIOP = "cannot find include file 'IOP.idl'"
  static let unknownComponentId = "unknown type 'IOP::ComponentId'"
  static let unknownTaggedComponent = "unknown type 'IOP::TaggedComponent'"
  static let serviceOptionError = "\(root)/COS/Security.idl:28:11: error: unknown type 'CORBA::ServiceOption'"
  static let security = [
    "unknown type 'CORBA::ServiceOption'", "unknown type 'CORBA::ServiceDetailType'",
    "'right' clashes with the name of the enclosing scope 'Right' declared at \(root)/COS/Security.idl:133:12",
    "unknown type 'CORBA::PolicyType'",
  ]
  static let level2 = ["unknown interface 'CORBA::Current'", "unknown interface 'CORBA::Policy'", "unknown type 'CORBA::Policy'"]

  struct Outcome {
    var file: String
    var model: InterfaceModel?
    var diagnostics: [IDLDiagnostic]
  }

  static func compileAll() throws -> (outcomes: [Outcome], seconds: Double) {
    let files = try IDLTestSupport.omniORBFiles()
    let clock = ContinuousClock()
    var outcomes: [Outcome] = []
    let elapsed = clock.measure {
      for file in files {
        do throws(IDLCompilationError) {
          outcomes.append(Outcome(file: file, model: try IDLFrontEnd.compile(file: file, options: options), diagnostics: []))
        } catch {
          outcomes.append(Outcome(file: file, model: nil, diagnostics: error.diagnostics))
        }
      }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (outcomes, seconds)
  }

  @Test func compilesEveryFile() throws {
    let (outcomes, seconds) = try Self.compileAll()
    #expect(outcomes.count == 71)
    var compiled = 0
    var declarations = 0
    for outcome in outcomes {
      let relative = String(outcome.file.dropFirst(Self.root.count + 1))
      if let expected = Self.expectedFailures[relative] {
        #expect(outcome.model == nil, "\(relative) should fail as it does in omniidl")
        #expect(outcome.diagnostics.first?.description == expected.first, "\(relative)")
        #expect(outcome.diagnostics.count == expected.count, "\(relative)")
        var seen = Set<String>()
        #expect(outcome.diagnostics.map(\.message).filter { seen.insert($0).inserted } == expected.messages, "\(relative)")
      } else if let model = outcome.model {
        compiled += 1
        declarations += model.index.count
        #expect(model.definitions.contains { $0.info.isFromMainFile } || relative == "orb.idl", "\(relative) has no definitions of its own")
      } else {
        Issue.record("\(relative) failed:\n\(outcome.diagnostics.map(\.description).joined(separator: "\n"))")
      }
    }
    #expect(compiled == 61)
    print("omniORB IDL: \(outcomes.count) files, \(compiled) compiled, \(outcomes.count - compiled) rejected as omniidl rejects them; "
      + "\(declarations) declarations; \((seconds * 1000).rounded() / 1000) s for all")
  }

  /// The repository id of every declaration (the main file's and its includes') against
  /// omniidl's front end, through a small omniidl back end (Fixtures/omniidl/courier_repoids.py).
  @Test func repositoryIDsMatchOmniidl() throws {
    let (outcomes, _) = try Self.compileAll()
    let compiled = outcomes.filter { $0.model != nil }
    let backend = IDLTestSupport.fixturesDirectory + "/omniidl"
    let command = "omniidl -p \(backend) -bcourier_repoids -I\(Self.root) -I\(Self.root)/COS "
      + compiled.map(\.file).joined(separator: " ")
    let result = IDLTestSupport.shell(command)
    try #require(result.status == 0, "omniidl failed (is the omniidl package installed?)")
    var theirs: [String: Set<String>] = [:]
    for line in result.output.split(separator: "\n") {
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      guard fields.count == 3 else { continue }
      theirs[fields[0], default: []].insert(fields[1] + " " + fields[2])
    }
    var compared = 0
    for outcome in compiled {
      var ours = Set<String>()
      func visit(_ d: Definition) {
        ours.insert(d.info.scopedName.description + " " + d.info.repositoryID)
        switch d {
        case .module(let m): m.definitions.forEach(visit)
        case .interface(let i): i.definitions.forEach(visit)
        case .valueType(let v): v.definitions.forEach(visit)
        case .structure(let s): s.nested.forEach(visit)
        case .exception(let e): e.nested.forEach(visit)
        case .union(let u): u.nested.forEach(visit)
        default: break
        }
      }
      outcome.model!.definitions.forEach(visit)
      let expected = theirs[outcome.file] ?? []
      #expect(!expected.isEmpty, "omniidl printed nothing for \(outcome.file)")
      #expect(ours.subtracting(expected).sorted() == [], "only in CourierIDL, \(outcome.file)")
      #expect(expected.subtracting(ours).sorted() == [], "only in omniidl, \(outcome.file)")
      compared += expected.count
    }
    print("repository ids compared with omniidl: \(compared) (name, id) pairs in \(compiled.count) files")
  }
}
