import Foundation
import SubsidyBankAPI
import Yams

/// Checks responses against the OpenAPI document the server serves: the status is declared for
/// the operation, the content type matches, and the body matches the schema — required fields
/// present, types right, enums and patterns kept, and no field the document does not declare.
struct OpenAPIValidator: @unchecked Sendable {  // immutable after init
    let document: [String: Any]

    init() throws {
        guard let loaded = try Yams.load(yaml: BankAPIDocument.yaml) as? [String: Any] else {
            throw Failure(message: "openapi.yaml is not a YAML mapping")
        }
        document = loaded
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Throws a failure naming the first mismatch.
    func validate(method: String, path: String, status: Int, contentType: String?, body: Data) throws {
        let paths = document["paths"] as? [String: Any] ?? [:]
        guard let (template, item) = paths.first(where: { Self.matches(template: $0.key, path: path) }) else {
            throw Failure(message: "\(path) is not in the document")
        }
        guard let operation = (item as? [String: Any])?[method.lowercased()] as? [String: Any] else {
            throw Failure(message: "\(method) \(template) is not in the document")
        }
        guard var response = (operation["responses"] as? [String: Any])?[String(status)] as? [String: Any] else {
            throw Failure(message: "\(method) \(template) does not declare status \(status)")
        }
        if let reference = response["$ref"] as? String { response = try resolve(reference) }
        guard let content = response["content"] as? [String: Any] else {
            if body.isEmpty { return }
            throw Failure(message: "status \(status) declares no body but one was sent")
        }
        let type = contentType?.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        guard let media = content[type] as? [String: Any], let schema = media["schema"] as? [String: Any] else {
            throw Failure(message: "\(method) \(template) \(status) does not declare content type \(type)")
        }
        let value = try JSONDecoder().decode(JSONNode.self, from: body)
        try check(value, schema, at: "$")
    }

    static func matches(template: String, path: String) -> Bool {
        let pattern = template.split(separator: "/")
        let actual = path.split(separator: "?").first.map { $0.split(separator: "/") } ?? []
        guard pattern.count == actual.count else { return false }
        return zip(pattern, actual).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }

    func resolve(_ reference: String) throws -> [String: Any] {
        var node: Any = document
        for part in reference.dropFirst(2).split(separator: "/") {
            guard let next = (node as? [String: Any])?[String(part)] else { throw Failure(message: "unresolvable \(reference)") }
            node = next
        }
        guard let schema = node as? [String: Any] else { throw Failure(message: "\(reference) is not an object") }
        return schema
    }

    func check(_ value: JSONNode, _ schema: [String: Any], at path: String) throws {
        if let reference = schema["$ref"] as? String { return try check(value, try resolve(reference), at: path) }
        if let options = schema["enum"] as? [Any] {
            guard case .string(let text) = value, options.contains(where: { "\($0)" == text }) else {
                throw Failure(message: "\(path): \(value) is not one of \(options)")
            }
        }
        switch schema["type"] as? String {
        case "object":
            guard case .object(let object) = value else { throw Failure(message: "\(path): expected an object") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for required in schema["required"] as? [String] ?? [] where object[required] == nil {
                throw Failure(message: "\(path): required field \(required) is missing")
            }
            for (key, field) in object {
                guard let fieldSchema = properties[key] as? [String: Any] else {
                    throw Failure(message: "\(path): field \(key) is not declared in the document")
                }
                try check(field, fieldSchema, at: "\(path).\(key)")
            }
        case "array":
            guard case .array(let array) = value else { throw Failure(message: "\(path): expected an array") }
            if let items = schema["items"] as? [String: Any] {
                for (index, element) in array.enumerated() { try check(element, items, at: "\(path)[\(index)]") }
            }
        case "string":
            guard case .string(let text) = value else { throw Failure(message: "\(path): expected a string, got \(value)") }
            if let pattern = schema["pattern"] as? String, text.range(of: pattern, options: .regularExpression) == nil {
                throw Failure(message: "\(path): \"\(text)\" does not match \(pattern)")
            }
        case "integer":
            guard case .integer = value else { throw Failure(message: "\(path): expected an integer, got \(value)") }
        case "boolean":
            guard case .bool = value else { throw Failure(message: "\(path): expected true or false, got \(value)") }
        default:
            break
        }
    }
}

/// A JSON value with its kind kept (a boolean is never a number here).
indirect enum JSONNode: Decodable, CustomStringConvertible {
    case null, bool(Bool), integer(Int64), number(Double), string(String), array([JSONNode]), object([String: JSONNode])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONNode].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONNode].self)) }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .integer(let value): String(value)
        case .number(let value): String(value)
        case .string(let value): "\"\(value)\""
        case .array(let value): "[\(value.count) items]"
        case .object: "{…}"
        }
    }
}
