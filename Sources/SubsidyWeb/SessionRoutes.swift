import Foundation
import Hummingbird
import SubsidyStore
import Logging

extension WebApp {
    static let loginCookie = "sl_login"

    func addSessionRoutes(to router: Router<WebRequestContext>) {
        router.get("login") { request, _ -> Response in
            try await loginPage(request, login: "", error: nil, status: .ok)
        }

        router.post("login") { request, context -> Response in
            let form = try await Form.read(request, maxBytes: 16 * 1024)
            // The sign-in form is protected by a double-submit token: the cookie set with the form
            // must come back beside the same value in the form.
            guard let expected = request.cookies[Self.loginCookie]?.value, SessionStore.tokensMatch(form["_csrf"], expected) else {
                return try await loginPage(request, login: form.trimmed("login"), error: Page.text("csrfRefused", .zh) + " / " + Page.text("csrfRefused", .en), status: .forbidden)
            }
            let login = form.trimmed("login").lowercased()
            do {
                let (token, user) = try await sessions.signIn(login: login, password: form["password"], address: context.address)
                let next = form["next"]
                let target = next.hasPrefix("/") && !next.hasPrefix("//") && !next.contains("\\") ? next : "/"
                var response = Self.redirect(target)
                response.setCookie(sessionCookie(token, request: request))
                response.setCookie(Cookie(name: Self.loginCookie, value: "", maxAge: 0, path: "/login", secure: Self.isSecure(request), httpOnly: true, sameSite: .strict))
                logger.info("signed in", metadata: ["user": "\(user.login)"])
                return response
            } catch let error as SessionStore.SignInError {
                let text = switch error {
                case .wrongCredentials: Page.text("wrongCredentials", .zh) + " / " + Page.text("wrongCredentials", .en)
                case .throttled(let minutes):
                    Page.text("throttled", .zh).replacingOccurrences(of: "%d", with: String(minutes)) + " / "
                        + Page.text("throttled", .en).replacingOccurrences(of: "%d", with: String(minutes))
                }
                return try await loginPage(request, login: login, error: text, status: error == .wrongCredentials ? .unauthorized : .tooManyRequests)
            }
        }

        router.post("logout") { request, _ -> Response in
            let (session, _) = try await change(request)
            try await sessions.signOut(session)
            var response = Self.redirect("/login")
            response.setCookie(Cookie(name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: Self.isSecure(request), httpOnly: true, sameSite: .strict))
            return response
        }

        router.post("language") { request, _ -> Response in
            let (session, form) = try await change(request)
            guard let language = Language(rawValue: form["lang"]) else { return errorPage(session, status: .badRequest, message: "lang: zh or en") }
            try await sessions.setLanguage(language, for: session.user)
            let back = form["back"]
            return Self.redirect(back.hasPrefix("/") && !back.hasPrefix("//") ? back : "/")
        }
    }

    func sessionCookie(_ token: String, request: Request) -> Cookie {
        // No Max-Age: the cookie ends with the browser; the server ends the session after 30
        // minutes idle whatever the browser keeps.
        Cookie(name: Self.cookieName, value: token, path: "/", secure: Self.isSecure(request), httpOnly: true, sameSite: .strict)
    }

    func loginPage(_ request: Request, login: String, error: String?, status: HTTPResponse.Status) async throws -> Response {
        let token = SessionStore.newToken()
        var page = Page("login", session: nil, status: status)
        page["title"] = "登录 Sign in"
        page["loginToken"] = token
        page["login"] = login
        page["error"] = error
        page["next"] = request.uri.queryParameters.get("next") ?? ""
        page["rehearsal"] = (try? await users.isRehearsal()) ?? false
        var response = render(page)
        response.setCookie(Cookie(name: Self.loginCookie, value: token, maxAge: 3600, path: "/login", secure: Self.isSecure(request), httpOnly: true, sameSite: .strict))
        return response
    }
}
