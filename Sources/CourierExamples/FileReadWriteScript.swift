import CourierCore
import CourierONC

/// The scripted FILEREADWRITE client's language, the same as `Interop/oncrpc/frw_client`'s so
/// that one script runs against either client and their outputs compare line for line:
///
///     null                 procedure 0
///     write:F:POS:TEXT     WRITE the bytes of TEXT (C escapes \\ \n \r \t \0 \" \xHH)
///     writelen:F:POS:LEN   WRITE with data.length = LEN, the buffer 'a'...'z' repeating
///     read:F:POS:LEN       READ; prints the bytes received
///     read:F:POS:LEN=TEXT  READ; the bytes must be exactly TEXT
///
/// A step may end in `!STATUS`, a libtirpc `clnt_stat` name (`RPC_SYSTEMERROR`, ...): it must
/// then fail with that status. Output: one line per step (`read 1 0 5 -> 5 "hello"`,
/// `read 1 -1 10 -> error RPC_SYSTEMERROR`), and `OK n steps` or `FAIL k of n steps`.
public enum FileReadWriteScript {
  public struct UsageError: Error, CustomStringConvertible {
    public var description: String
  }

  /// The libtirpc `clnt_stat` name of a failed call.
  public static func statusName(_ error: any Error) -> String {
    guard let error = error as? RPCError else { return "RPC_FAILED" }
    switch error.oncReplyError {
    case .programUnavailable: return "RPC_PROGUNAVAIL"
    case .programMismatch: return "RPC_PROGVERSMISMATCH"
    case .procedureUnavailable: return "RPC_PROCUNAVAIL"
    case .garbageArguments: return "RPC_CANTDECODEARGS"
    case .systemError: return "RPC_SYSTEMERROR"
    case .rpcMismatch: return "RPC_VERSMISMATCH"
    case .authError: return "RPC_AUTHERROR"
    case nil: break
    }
    switch error.code {
    case .timeout: return "RPC_TIMEDOUT"
    case .transient: return "RPC_CANTSEND"
    case .marshal: return "RPC_CANTDECODERES"
    default: return "RPC_CANTRECV"
    }
  }

  static let knownStatuses: Set<String> = [
    "RPC_PROGUNAVAIL", "RPC_PROGVERSMISMATCH", "RPC_PROCUNAVAIL", "RPC_CANTDECODEARGS", "RPC_SYSTEMERROR",
    "RPC_VERSMISMATCH", "RPC_AUTHERROR", "RPC_TIMEDOUT", "RPC_CANTSEND", "RPC_CANTDECODERES", "RPC_CANTRECV",
  ]

  /// Decodes C escapes.
  static func unescape(_ text: Substring) throws -> [UInt8] {
    var out: [UInt8] = []
    var i = text.utf8.startIndex
    let u = text.utf8
    while i < u.endIndex {
      var c = u[i]
      i = u.index(after: i)
      if c == UInt8(ascii: "\\") {
        guard i < u.endIndex else { throw UsageError(description: "a trailing backslash in \(text)") }
        let e = u[i]
        i = u.index(after: i)
        switch e {
        case UInt8(ascii: "\\"): c = e
        case UInt8(ascii: "\""): c = e
        case UInt8(ascii: "n"): c = 10
        case UInt8(ascii: "r"): c = 13
        case UInt8(ascii: "t"): c = 9
        case UInt8(ascii: "0"): c = 0
        case UInt8(ascii: "x"):
          guard u.distance(from: i, to: u.endIndex) >= 2,
                let v = UInt8(String(decoding: u[i..<u.index(i, offsetBy: 2)], as: UTF8.self), radix: 16) else {
            throw UsageError(description: "a bad \\x escape in \(text)")
          }
          c = v
          i = u.index(i, offsetBy: 2)
        default: throw UsageError(description: "an unknown escape in \(text)")
        }
      }
      out.append(c)
    }
    guard out.count <= FileStore.maximumTransfer else { throw UsageError(description: "TEXT longer than MAX") }
    return out
  }

  /// The bytes as a C string literal (as frw_client prints them).
  static func escaped(_ bytes: [UInt8]) -> String {
    var s = "\""
    for c in bytes {
      switch c {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"): s += "\\" + String(UnicodeScalar(c))
      case 10: s += "\\n"
      case 13: s += "\\r"
      case 9: s += "\\t"
      case 0: s += "\\0"
      case 0x20..<0x7F: s += String(UnicodeScalar(c))
      default:
        let hex = String(c, radix: 16)
        s += "\\x" + (hex.count == 1 ? "0" + hex : hex)
      }
    }
    return s + "\""
  }

  static func int32(_ s: Substring, _ what: String) throws -> Int32 {
    guard let v = Int32(s) else { throw UsageError(description: "bad \(what): \(s)") }
    return v
  }

  /// Runs `steps` with `client`, calling `output` with each line; returns whether all behaved.
  public static func run(_ steps: [String], client: FILEREADWRITE.VERSION.Client, null: () throws -> Void,
                         output: (String) -> Void) throws -> Bool {
    var failed = 0
    for step in steps {
      var word = Substring(step)
      var expectError: String? = nil
      if let bang = word.lastIndex(of: "!"), knownStatuses.contains(String(word[word.index(after: bang)...])) {
        expectError = String(word[word.index(after: bang)...])
        word = word[..<bang]
      }
      var line = ""
      var failure: (any Error)? = nil
      var badReply = false
      var expected: [UInt8]? = nil
      if word == "null" {
        line = "null -> "
        do { try null(); line += "ok" } catch { failure = error }
      } else if word.hasPrefix("write:") || word.hasPrefix("writelen:") {
        let isLength = word.hasPrefix("writelen:")
        let parts = word.dropFirst(isLength ? 9 : 6).split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw UsageError(description: "bad write step: \(step)") }
        let f = try int32(parts[0], "F"), position = try int32(parts[1], "POS")
        var length: Int32
        var buffer = [Int8](repeating: 0, count: FileStore.maximumTransfer)
        if isLength {
          length = try int32(parts[2], "LEN")
          for k in 0..<max(0, min(Int(length), FileStore.maximumTransfer)) { buffer[k] = Int8(UInt8(ascii: "a") + UInt8(k % 26)) }
        } else {
          let bytes = try unescape(parts[2])
          length = Int32(bytes.count)
          for (k, b) in bytes.enumerated() { buffer[k] = Int8(bitPattern: b) }
        }
        line = "write \(f) \(position) \(length) -> "
        do {
          try client.WRITE(writeargs(f: f, position: position, data: Data(length: length, buffer: buffer)))
          line += "ok"
        } catch { failure = error }
      } else if word.hasPrefix("read:") {
        let parts = word.dropFirst(5).split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw UsageError(description: "bad read step: \(step)") }
        let f = try int32(parts[0], "F"), position = try int32(parts[1], "POS")
        var lengthText = parts[2]
        if let eq = lengthText.firstIndex(of: "=") {
          expected = try unescape(lengthText[lengthText.index(after: eq)...])
          lengthText = lengthText[..<eq]
        }
        let length = try int32(lengthText, "LEN")
        line = "read \(f) \(position) \(length) -> "
        do {
          let data = try client.READ(readargs(f: f, position: position, length: length))
          if data.length < 0 || Int(data.length) > data.buffer.count {
            line += "\(data.length) (bad length)"
            badReply = true
          } else {
            line += "\(data.length) " + escaped(data.bytes)
            if let expected, expected != data.bytes { badReply = true }
          }
        } catch { failure = error }
      } else {
        throw UsageError(description: "unknown SCRIPT word: \(step)")
      }
      if let failure {
        line += "error " + statusName(failure)
        if let e = (failure as? RPCError)?.oncReplyError {
          switch e {
          case .authError(let status): line += " auth_stat=\(status.rawValue)"
          case .programMismatch(let low, let high), .rpcMismatch(let low, let high): line += " low=\(low) high=\(high)"
          default: break
          }
        }
      }
      let behaved: Bool
      if let expectError {
        behaved = failure.map { statusName($0) == expectError } ?? false
      } else {
        behaved = failure == nil && !badReply
      }
      if !behaved {
        failed += 1
        if let expectError {
          line += " (FAIL: expected \(expectError))"
        } else if failure != nil {
          line += " (FAIL: expected success)"
        } else if let expected {
          line += " (FAIL: expected \(expected.count) \(escaped(expected)))"
        } else {
          line += " (FAIL: bad reply)"
        }
      }
      output(line)
    }
    output(failed == 0 ? "OK \(steps.count) steps" : "FAIL \(failed) of \(steps.count) steps")
    return failed == 0
  }
}
