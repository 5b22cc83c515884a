import Foundation
public import Hummingbird
import NIOCore
public import SubsidyRules

/// An error a route returns to the client as JSON. Every domain error maps to HTTP here, in one
/// place; internal errors never echo their text to the client.
public struct APIError: HTTPResponseError {
    public var status: HTTPResponse.Status
    public var body: JSONValue

    public init(status: HTTPResponse.Status, body: JSONValue) {
        self.status = status
        self.body = body
    }

    /// 422 with `{"error", "field"}`: the calculator contract's answer to invalid input.
    public static func invalid(_ error: InputError) -> APIError {
        APIError(status: .unprocessableContent, body: error.json)
    }

    public static func tooLarge(limitBytes: Int) -> APIError {
        APIError(status: .contentTooLarge, body: .object([
            ("error", .string("request body larger than the limit of \(limitBytes) bytes")), ("limitBytes", .int(limitBytes)),
        ]))
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response.json(body, status: status)
    }
}

extension Response {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: value.utf8())))
    }
}

extension Request {
    /// The whole body, refusing more than `limit` bytes with 413 and the limit stated.
    mutating func collectBody(limit: Int) async throws -> ByteBuffer {
        do {
            return try await collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge(limitBytes: limit)
        }
    }
}
