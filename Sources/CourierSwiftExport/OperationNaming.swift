/// The rule that names a distributed method on the wire: the GIOP operation name of a call, and
/// the IDL operation name `courier-idl export` writes for it.
///
/// The rule is shared by the exporter and the actor system's runtime, so both sides must compute
/// it the same way: the method's base name, then `_` and the external argument label of each
/// parameter that has one (an unlabeled parameter, written `_`, adds nothing).
///
/// | Swift method                     | selector              | wire name          |
/// |----------------------------------|-----------------------|--------------------|
/// | `func area()`                    | `area()`              | `area`             |
/// | `func greet(name:times:)`        | `greet(name:times:)`  | `greet_name_times` |
/// | `func add(_ a:, _ b:)`           | `add(_:_:)`           | `add`              |
/// | `func describe(_ x:, with y:)`   | `describe(_:with:)`   | `describe_with`    |
/// | `func move(to point:)`           | `move(to:)`           | `move_to`          |
///
/// A type may pin wire names with a `courierOperationNames` dictionary (selector → wire name);
/// a pinned name replaces the rule's (``wireName(baseName:labels:pinned:)``).
///
/// ```swift
/// OperationNaming.wireName(baseName: "greet", labels: ["name", "times"])  // "greet_name_times"
/// OperationNaming.selector(baseName: "add", labels: [nil, nil])           // "add(_:_:)"
/// ```
public enum OperationNaming {
  /// The wire name of a method by the rule: `baseName`, then `_label` for each labeled parameter.
  ///
  /// - Parameters:
  ///   - baseName: The method's base name, without backticks (`greet`).
  ///   - labels: Each parameter's external argument label in order; `nil` (or `"_"`) for an
  ///     unlabeled parameter.
  /// - Returns: The operation name, such as `greet_name_times`.
  public static func wireName(baseName: String, labels: [String?]) -> String {
    var name = baseName
    for label in labels {
      guard let label, label != "_", !label.isEmpty else { continue }
      name += "_" + label
    }
    return name
  }

  /// The wire name of a method: the pinned name for its selector if `pinned` has one, else the
  /// rule's (``wireName(baseName:labels:)``).
  ///
  /// - Parameter pinned: The type's `courierOperationNames`: selector (`greet(name:times:)`) →
  ///   wire name.
  public static func wireName(baseName: String, labels: [String?], pinned: [String: String]) -> String {
    pinned[selector(baseName: baseName, labels: labels)] ?? wireName(baseName: baseName, labels: labels)
  }

  /// The Swift selector of a method, as `courierOperationNames` keys spell it: `greet(name:times:)`,
  /// `add(_:_:)`, `area()`.
  ///
  /// - Parameters:
  ///   - baseName: The method's base name, without backticks.
  ///   - labels: Each parameter's external argument label; `nil` (or `"_"`) for an unlabeled one.
  public static func selector(baseName: String, labels: [String?]) -> String {
    baseName + "(" + labels.map { ($0 == nil || $0!.isEmpty ? "_" : $0!) + ":" }.joined() + ")"
  }
}
