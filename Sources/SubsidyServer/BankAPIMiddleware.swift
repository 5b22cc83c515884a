import Foundation
import HTTPTypes
import Logging
import OpenAPIRuntime
import SubsidyRules
import SubsidyStore

/// What the middleware learned about a bank request, for the handlers.
struct BankRequestInfo: Sendable {
    var bank: String
    var requestID: String
    var contentType: String?

    @TaskLocal static var current: BankRequestInfo?
}

/// An RFC 9457 problem document as a raw response, for answers given before any handler runs.
enum ProblemResponse {
    static func make(status: Int, title: String, detail: String, requestID: String, extra: [String: Any] = [:]) -> (HTTPResponse, HTTPBody?) {
        var object: [String: Any] = [
            "type": "about:blank", "title": title, "status": status, "detail": detail, "requestId": requestID,
        ]
        for (key, value) in extra { object[key] = value }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var response = HTTPResponse(status: .init(code: status))
        response.headerFields[.contentType] = "application/problem+json"
        response.headerFields[HTTPField.Name("X-Request-Id")!] = requestID
        return (response, HTTPBody(data))
    }
}

/// For every bank request: a request id (the client's `X-Request-Id` or a new one), the bank's
/// token checked (401 otherwise), the body limited in size (413 with the limit stated), request
/// decoding errors answered as 422 problems, and one log line with bank, request id, operation,
/// status and duration.
struct BankAPIMiddleware: ServerMiddleware {
    let tokens: BankTokens
    let logger: Logger
    let maxBodyBytes: Int

    struct BodyTooLarge: Error {}

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let clock = ContinuousClock()
        let started = clock.now
        let requestID = request.headerFields[HTTPField.Name("X-Request-Id")!].flatMap { $0.count <= 64 ? $0 : nil }
            ?? UUID().uuidString.lowercased()
        var bank = "-"
        func log(_ status: Int) {
            logger.info("bank request", metadata: [
                "bank": "\(bank)", "requestId": "\(requestID)", "operation": "\(operationID)", "status": "\(status)",
                "ms": "\((clock.now - started).components.seconds * 1000 + (clock.now - started).components.attoseconds / 1_000_000_000_000_000)",
            ])
        }
        guard let authorization = request.headerFields[.authorization], authorization.hasPrefix("Bearer "),
            let found = try await tokens.bank(for: String(authorization.dropFirst(7)))
        else {
            log(401)
            return ProblemResponse.make(
                status: 401, title: "Unauthorized", detail: "a valid, unrevoked bank token is required: Authorization: Bearer <token>",
                requestID: requestID)
        }
        bank = found
        if let length = request.headerFields[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            log(413)
            return tooLarge(requestID)
        }
        let limited = body.map { body in
            let limit = maxBodyBytes
            let counter = ByteCounter()
            return HTTPBody(
                body.map { chunk throws -> ArraySlice<UInt8> in
                    guard counter.add(chunk.count) <= limit else { throw BodyTooLarge() }
                    return chunk
                }, length: body.length, iterationBehavior: body.iterationBehavior)
        }
        let info = BankRequestInfo(bank: found, requestID: requestID, contentType: request.headerFields[.contentType])
        do {
            var (response, responseBody) = try await BankRequestInfo.$current.withValue(info) {
                try await next(request, limited, metadata)
            }
            response.headerFields[HTTPField.Name("X-Request-Id")!] = requestID
            log(response.status.code)
            return (response, responseBody)
        } catch {
            if Self.contains(error, BodyTooLarge.self) {
                log(413)
                return tooLarge(requestID)
            }
            if let decoding = Self.find(error, DecodingError.self) {
                log(422)
                let problem = InputError(decoding: decoding)
                return ProblemResponse.make(
                    status: 422, title: "Invalid request", detail: "the request body does not match the API contract", requestID: requestID,
                    extra: ["errors": [["field": problem.field, "message": problem.message]]])
            }
            if let serverError = error as? ServerError, serverError.causeDescription.contains("content type") || serverError.causeDescription.contains("Content-Type") {
                log(415)
                return ProblemResponse.make(
                    status: 415, title: "Unsupported Media Type", detail: "send application/json or text/csv", requestID: requestID)
            }
            log(500)
            logger.error("bank request failed", metadata: ["requestId": "\(requestID)", "error": "\(String(reflecting: error))"])
            return ProblemResponse.make(status: 500, title: "Internal Server Error", detail: "the request failed; quote request id \(requestID)", requestID: requestID)
        }
    }

    func tooLarge(_ requestID: String) -> (HTTPResponse, HTTPBody?) {
        ProblemResponse.make(
            status: 413, title: "Content Too Large", detail: "the request body is larger than the limit of \(maxBodyBytes) bytes; split the upload",
            requestID: requestID, extra: ["limitBytes": maxBodyBytes])
    }

    /// Finds an error of type `T` in `error` or the errors it wraps (ServerError's underlying error).
    static func find<T: Error>(_ error: any Error, _ type: T.Type) -> T? {
        if let match = error as? T { return match }
        if let server = error as? ServerError { return find(server.underlyingError, type) }
        return nil
    }

    static func contains<T: Error>(_ error: any Error, _ type: T.Type) -> Bool { find(error, type) != nil }
}

/// Counts bytes across the chunks of one body (iterated once, on one task at a time).
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0

    func add(_ count: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        total += count
        return total
    }
}
