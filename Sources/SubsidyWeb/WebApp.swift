import Foundation
public import Hummingbird
public import Logging
import Mustache
public import PostgresNIO
import SubsidyReconciliation
import SubsidyRules
public import SubsidyStore

/// The bureau's web application: server-rendered pages over the same stores as the CLI. Every
/// page needs a signed-in user with a role; every form carries the session's CSRF token; every
/// change goes through the stores, which check roles, four eyes, states and caps themselves.
public struct WebApp: Sendable {
    let client: PostgresClient
    let logger: Logger
    let library: MustacheLibrary
    /// The style sheet, rendered once.
    let css: String
    let jobs: ComputeJobs
    /// Computations, approvals and statement imports take their turn here (`HeavyWork`).
    let heavyWork: HeavyWork
    /// A statement file uploaded by a clerk is read holding one of these, the slots the bank
    /// API's statement uploads read their bodies in (the server gives both the same).
    let statementReads: HeavyWork

    public init(
        client: PostgresClient, logger: Logger, heavyWork: HeavyWork = HeavyWork(),
        statementReads: HeavyWork = HeavyWork.statementReads()
    ) async throws {
        self.client = client
        self.logger = logger
        guard let folder = Bundle.module.resourceURL?.appendingPathComponent("Templates").path else {
            throw WebError.badForm("the page templates are missing from the installation")
        }
        self.library = try await MustacheLibrary(directory: folder)
        self.css = library.render([:], withTemplate: "app.css") ?? ""
        self.jobs = ComputeJobs()
        self.heavyWork = heavyWork
        self.statementReads = statementReads
    }

    var sessions: SessionStore { SessionStore(client: client, logger: logger) }
    var users: UserStore { UserStore(client: client, logger: logger) }
    var batches: BatchStore { BatchStore(client: client, logger: logger) }

    public func addRoutes(to router: Router<WebRequestContext>) {
        router.add(middleware: ErrorLoggingMiddleware(logger: logger))
        router.add(middleware: SecurityHeadersMiddleware())
        addSessionRoutes(to: router)
        addHomeRoutes(to: router)
        addFirmRoutes(to: router)
        addBatchRoutes(to: router)
        addReconciliationRoutes(to: router)
        addAdminRoutes(to: router)
        addAuditRoutes(to: router)
        router.get("static/app.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: css)))
        }
    }

    // MARK: Sessions in requests

    static let cookieName = "sl_session"

    /// Whether the request reached us over TLS: a TLS-terminating proxy says so.
    static func isSecure(_ request: Request) -> Bool {
        request.headers[.init("X-Forwarded-Proto")!]?.lowercased() == "https" || request.uri.scheme?.rawValue == "https"
    }

    func currentSession(_ request: Request) async throws -> WebSession? {
        guard let token = request.cookies[Self.cookieName]?.value, !token.isEmpty, token.count <= 128 else { return nil }
        return try await sessions.session(token: token)
    }

    /// The signed-in session with one of `roles` (admin always passes); otherwise a redirect to
    /// sign-in or a 403 page that says which role is needed.
    func require(_ request: Request, _ roles: [Role] = []) async throws -> WebSession {
        guard let session = try await currentSession(request) else {
            let next = request.uri.path == "/" ? "" : "?next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_"))) ?? "")
            throw PageError(response: Self.redirect("/login" + next))
        }
        if !roles.isEmpty && !roles.contains(where: session.user.acts(as:)) {
            var page = Page("error", session: session, status: .forbidden)
            page["title"] = page.t("forbidden")
            page["message"] = page.t("needsRole") + " " + roles.map { page.t("role." + $0.rawValue) }.joined(separator: " / ")
            throw PageError(response: render(page))
        }
        return session
    }

    /// A changing request: the session with a role, and the form, which must carry the session's
    /// CSRF token.
    func change(_ request: Request, _ roles: [Role] = [], maxBytes: Int = Form.maxFormBytes) async throws -> (WebSession, Form) {
        let session = try await require(request, roles)
        let form: Form
        do {
            form = try await Form.read(request, maxBytes: maxBytes)
        } catch let error as WebError {
            let status: HTTPResponse.Status = if case .tooLarge = error { .contentTooLarge } else { .badRequest }
            throw PageError(response: errorPage(session, status: status, message: error.description))
        }
        guard SessionStore.tokensMatch(form["_csrf"], session.csrf) else {
            logger.warning("CSRF token missing or wrong", metadata: ["user": "\(session.user.login)", "path": "\(request.uri.path)"])
            throw PageError(response: errorPage(session, status: .forbidden, message: Page.text("csrfRefused", session.language)))
        }
        return (session, form)
    }

    // MARK: Responses

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    func render(_ page: Page) -> Response {
        let html = library.render(Self.annotate(page.context), withTemplate: page.template) ?? "template \(page.template) failed"
        return Response(
            status: page.status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// Adds `hasRows` beside every list `rows`, at any depth: a template shows a table's heading
    /// only when it has rows (a Mustache section over the list itself would repeat it).
    static func annotate(_ value: Any) -> Any {
        if let dictionary = value as? [String: Any] {
            var result: [String: Any] = [:]
            for (key, element) in dictionary {
                result[key] = annotate(element)
                if let list = element as? [Any], let first = key.first {
                    result["has" + first.uppercased() + key.dropFirst()] = !list.isEmpty
                }
            }
            return result
        }
        if let list = value as? [[String: Any]] { return list.map(annotate) }
        return value
    }

    func errorPage(_ session: WebSession?, status: HTTPResponse.Status, message: String) -> Response {
        var page = Page("error", session: session, status: status)
        page["title"] = page.t("error")
        page["message"] = message
        return render(page)
    }

    func file(_ bytes: [UInt8], name: String, type: String) -> Response {
        Response(status: .ok, headers: downloadHeaders(name: name, type: type), body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func downloadHeaders(name: String, type: String) -> HTTPFields {
        let ascii = name.unicodeScalars.allSatisfy { $0.isASCII } ? name : "download"
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".-_"))) ?? ascii
        return [.contentType: type, .contentDisposition: "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)", .cacheControl: "no-store"]
    }

    /// A download of a file written for it, sent in chunks of 256 kB. The file's folder is removed
    /// at once: the open file stays readable until the last chunk is sent and it is closed.
    func download(_ url: URL, removing directory: URL, name: String, type: String) throws -> Response {
        let handle = try FileHandle(forReadingFrom: url)
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 0)
        try? FileManager.default.removeItem(at: directory)
        let body = ResponseBody(contentLength: Int(size)) { writer in
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 1 << 18), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: downloadHeaders(name: name, type: type), body: body)
    }

    /// The business day of an action: a rehearsal database's chosen day if one is set, else the
    /// server's clock.
    func businessDay() async throws -> CivilDate? {
        for try await text in try await client.query(
            "SELECT day::text FROM rehearsal_days WHERE EXISTS (SELECT 1 FROM installation WHERE rehearsal) ORDER BY id DESC LIMIT 1", logger: logger
        ).decode(String.self) {
            return try CivilDate.parse(text, field: "day")
        }
        return nil
    }

    /// What the user did wrong, in their language: store errors carry their own words.
    func message(_ error: any Error, _ language: Language) -> String {
        WebMessages.describe(error, language)
    }
}

/// A response thrown from deep inside a handler: a redirect to sign-in, a 403 page.
struct PageError: HTTPResponseError {
    var response: Response
    var status: HTTPResponse.Status { response.status }
    func response(from request: Request, context: some RequestContext) throws -> Response { response }
}

/// An unexpected error is logged with the request's path (the user sees a 500 without details).
struct ErrorLoggingMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            let detail = (error as? PSQLError).map { $0.serverInfo?[.message] ?? "\($0)" } ?? "\(error)"
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(detail)"])
            throw error
        }
    }
}

/// Headers every page carries: no framing, no sniffing, no referrer, scripts from this origin only.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        if response.headers[.contentType]?.hasPrefix("text/html") == true {
            response.headers[.init("Content-Security-Policy")!] = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
        }
        return response
    }
}
