import Foundation
import HTTPTypes
import Hummingbird
import SubsidyBankAPI

/// 405 Method Not Allowed, with `Allow`, for a method the contract does not declare on one of its
/// paths (the router alone would answer 404, as if the path did not exist). The paths and their
/// methods are read from the served `openapi.yaml` itself, so the two cannot drift apart.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    struct PathMethods {
        var segments: [String]  // "*" for a {parameter}
        var methods: Set<HTTPRequest.Method>
    }

    let paths: [PathMethods]

    init(document: String = BankAPIDocument.yaml) {
        var paths: [PathMethods] = []
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                let path = line.dropFirst(2).dropLast()
                let segments = path.split(separator: "/").map { $0.hasPrefix("{") ? "*" : String($0) }
                paths.append(PathMethods(segments: segments, methods: []))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"), !paths.isEmpty {
                let word = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased()
                if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(word), let method = HTTPRequest.Method(word) {
                    paths[paths.count - 1].methods.insert(method)
                }
            } else if !line.hasPrefix(" "), !line.isEmpty, !paths.isEmpty, line != "paths:" {
                break  // the end of `paths:`
            }
        }
        self.paths = paths
    }

    func allowed(_ path: String) -> Set<HTTPRequest.Method>? {
        let segments = path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/").map(String.init) } ?? []
        return paths.first { candidate in
            candidate.segments.count == segments.count && zip(candidate.segments, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }?.methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let methods = allowed(request.uri.path), !methods.isEmpty, !methods.contains(request.method) else {
            return try await next(request, context)
        }
        let allow = methods.map(\.rawValue).sorted().joined(separator: ", ")
        let body = #"{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"\#(request.uri.path) accepts \#(allow)"}"#
        return Response(
            status: .methodNotAllowed, headers: [.allow: allow, .contentType: "application/problem+json"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
