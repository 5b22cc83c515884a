import Foundation
import Hummingbird
import Logging
import SubsidyRules
import SubsidyStore

/// What a template renders: the page's own values, the user's labels (`t.key`) in their
/// language, the navigation their roles allow and the session's CSRF token.
struct Page {
    var template: String
    var status: HTTPResponse.Status
    var language: Language
    var context: [String: Any]

    init(_ template: String, session: WebSession?, status: HTTPResponse.Status = .ok) {
        self.template = template
        self.status = status
        let language = session?.language ?? .zh
        self.language = language
        var context: [String: Any] = [
            "t": Strings.table(language),
            "lang": language.rawValue,
            "otherLang": language == .zh ? "en" : "zh",
            "otherLangLabel": language == .zh ? "English" : "中文",
        ]
        if let session {
            let user = session.user
            context["session"] = [
                "login": user.login,
                "name": user.displayName,
                "roles": Role.allCases.filter(user.roles.contains).map { Strings.text("role." + $0.rawValue, language) }.joined(separator: "、"),
                "isClerk": user.acts(as: .clerk),
                "isApprover": user.acts(as: .approver),
                "isAuditor": user.acts(as: .auditor),
                "isAdmin": user.acts(as: .admin),
            ] as [String: Any]
            context["csrf"] = session.csrf
        }
        self.context = context
    }

    subscript(_ key: String) -> Any? {
        get { context[key] }
        set { context[key] = newValue }
    }

    func t(_ key: String) -> String { Strings.text(key, language) }
    static func text(_ key: String, _ language: Language) -> String { Strings.text(key, language) }
}

/// How values look on every page: amounts right-aligned with thousands separators, dates
/// YYYY-MM-DD.
enum Show {
    static func money(_ money: Money) -> String { money.grouped }
    static func fen(_ fen: Int64) -> String { Money(fen: fen).grouped }

    static func program(_ program: Program, _ language: Language) -> String {
        language == .zh ? program.chineseName : Strings.text("program." + program.rawValue, .en)
    }

    static func state(_ state: BatchState, _ language: Language) -> String {
        language == .zh ? state.chineseName : state.rawValue
    }

    static func level(_ level: String, _ language: Language) -> String { Strings.text("level." + level, language) }
}

/// Server-side paging and sorting: a page of `size` rows, the sort key chosen from a fixed list.
struct Paging {
    var page: Int
    var size: Int
    var sort: String
    var descending: Bool

    init(_ request: Request, sorts: [String], defaultSort: String, descendingByDefault: Bool = false, size: Int = 50) {
        let query = request.uri.queryParameters
        page = max(1, Int(query.get("page") ?? "") ?? 1)
        self.size = size
        let asked = query.get("sort") ?? defaultSort
        sort = sorts.contains(asked) ? asked : defaultSort
        descending = (query.get("dir") ?? (descendingByDefault ? "desc" : "asc")) == "desc"
    }

    var offset: Int { (page - 1) * size }
    var direction: String { descending ? "desc" : "asc" }

    /// Links for the table's headings and pages, keeping the other query values.
    func context(total: Int, base: String, keep: [String: String] = [:], sorts: [String]) -> [String: Any] {
        let pages = max(1, (total + size - 1) / size)
        func link(page: Int, sort: String, descending: Bool) -> String {
            var items = keep.filter { !$0.value.isEmpty }.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
            items.append(("sort", sort))
            items.append(("dir", descending ? "desc" : "asc"))
            items.append(("page", String(page)))
            return base + "?" + items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        }
        var sortLinks: [String: String] = [:]
        for key in sorts {
            sortLinks[key] = link(page: 1, sort: key, descending: key == sort ? !descending : false)
        }
        return [
            "page": page, "pages": pages, "total": total,
            "hasPrevious": page > 1, "hasNext": page < pages,
            "previous": link(page: page - 1, sort: sort, descending: descending),
            "next": link(page: page + 1, sort: sort, descending: descending),
            "sortLinks": sortLinks,
            "sort": sort, "dir": direction,
        ]
    }
}
