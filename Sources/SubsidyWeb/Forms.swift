import Foundation
import Hummingbird
import Logging
import MultipartKit
import NIOCore

/// A submitted form: `application/x-www-form-urlencoded` fields, or `multipart/form-data` fields
/// and files. Bodies are bounded; a field or file past its bound is a clear refusal.
struct Form: Sendable {
    var fields: [String: String] = [:]
    /// Repeated fields (checkbox groups, one value per row), in order.
    var lists: [String: [String]] = [:]
    var files: [String: UploadedFile] = [:]

    subscript(_ name: String) -> String { fields[name] ?? "" }

    /// A field with surrounding white space removed.
    func trimmed(_ name: String) -> String { self[name].trimmingCharacters(in: .whitespacesAndNewlines) }

    static let maxFormBytes = 1 << 20
    static let maxFields = 2_000

    static func read(_ request: Request, maxBytes: Int = maxFormBytes) async throws -> Form {
        let contentType = request.headers[.contentType] ?? ""
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw WebError.tooLarge(maxBytes)
        }
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            guard let boundary = contentType.components(separatedBy: ";").lazy
                .map({ $0.trimmingCharacters(in: .whitespaces) })
                .first(where: { $0.lowercased().hasPrefix("boundary=") })
                .map({ String($0.dropFirst("boundary=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) })
            else { throw WebError.badForm("multipart without a boundary") }
            return try multipart(body, boundary: boundary)
        }
        return try urlEncoded(String(buffer: body))
    }

    static func urlEncoded(_ text: String) throws -> Form {
        var form = Form()
        var count = 0
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            count += 1
            guard count <= maxFields else { throw WebError.badForm("more than \(maxFields) fields") }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            form.add(name, value)
        }
        return form
    }

    static func decode(_ text: Substring) -> String {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
    }

    mutating func add(_ name: String, _ value: String) {
        if fields[name] == nil { fields[name] = value }
        lists[name, default: []].append(value)
    }

    static func multipart(_ body: ByteBuffer, boundary: String) throws -> Form {
        final class Collector {
            var form = Form()
            var headers: [(String, String)] = []
            var bytes: [UInt8] = []
            var parts = 0
        }
        let collector = Collector()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in collector.headers.append((name.lowercased(), value)) }
        parser.onBody = { buffer in collector.bytes.append(contentsOf: buffer.readableBytesView) }
        parser.onPartComplete = {
            collector.parts += 1
            let disposition = collector.headers.first(where: { $0.0 == "content-disposition" })?.1 ?? ""
            let name = parameter("name", in: disposition) ?? ""
            if let fileName = parameter("filename", in: disposition) {
                if !fileName.isEmpty || !collector.bytes.isEmpty {
                    collector.form.files[name] = UploadedFile(name: fileName, bytes: collector.bytes)
                }
            } else {
                collector.form.add(name, String(decoding: collector.bytes, as: UTF8.self))
            }
            collector.headers = []
            collector.bytes = []
        }
        do {
            try parser.execute(body)
        } catch {
            throw WebError.badForm("the upload could not be read as multipart/form-data")
        }
        guard collector.parts <= maxFields else { throw WebError.badForm("more than \(maxFields) fields") }
        return collector.form
    }

    /// `name="…"` from a Content-Disposition header.
    static func parameter(_ key: String, in header: String) -> String? {
        for part in header.components(separatedBy: ";") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard trimmed.lowercased().hasPrefix(key + "=") else { continue }
            return String(trimmed.dropFirst(key.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }
}

struct UploadedFile: Sendable {
    var name: String
    var bytes: [UInt8]
}

/// A refusal of the web layer itself (the stores' errors have their own types).
enum WebError: Error, CustomStringConvertible {
    case tooLarge(Int)
    case badForm(String)
    case missing(String)
    case invalid(field: String, message: String)

    var description: String {
        switch self {
        case .tooLarge(let bytes): "the submission is larger than \(bytes / 1024 / 1024) MiB"
        case .badForm(let reason): "the form could not be read: \(reason)"
        case .missing(let field): "\(field) is required"
        case .invalid(let field, let message): "\(field): \(message)"
        }
    }
}
