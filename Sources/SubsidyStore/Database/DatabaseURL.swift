public import Logging
public import PostgresNIO

/// Where the database is, read once from `DATABASE_URL`
/// (`postgres://user:password@host:port/database`, optionally `?sslmode=disable|prefer|require`).
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: String

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(String)
        public var description: String {
            switch self {
            case .malformed(let reason): "DATABASE_URL is not usable: \(reason) (expected postgres://user:password@host:port/database)"
            }
        }
    }

    public init(_ text: String) throws(ParseError) {
        var rest: Substring
        if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else {
            throw .malformed("scheme must be postgres:// or postgresql://")
        }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw .malformed("no database name") }
        let database = String(rest[rest.index(after: slash)...])
        guard !database.isEmpty else { throw .malformed("no database name") }
        var authority = rest[..<slash]
        var username = "postgres"
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                username = DatabaseURL.percentDecoded(userInfo[..<colon])
                password = DatabaseURL.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                username = DatabaseURL.percentDecoded(userInfo)
            }
        }
        var host = String(authority)
        var port = 5432
        if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw .malformed("port must be a number from 1 to 65535")
            }
            port = parsed
        }
        guard !host.isEmpty else { throw .malformed("no host") }
        var sslMode = "prefer"
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == "sslmode" { sslMode = String(parts[1]) }
        }
        guard ["disable", "prefer", "require"].contains(sslMode) else { throw .malformed("sslmode must be disable, prefer or require") }
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The URL with the password masked, for logs.
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(sslMode)"
    }

    public func clientConfiguration() -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(.makeClientConfiguration())
        default: tls = .prefer(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = 10
        // A command stopped mid-query (Ctrl-C, a timeout) used to leave its backend running the
        // query, and holding its locks, until the query ended: an approval killed after 90 s
        // blocked the next one for nine minutes. With this, the server looks for the client every
        // 5 s while a query runs and ends the query and its transaction when the client is gone.
        configuration.options.additionalStartupParameters = [
            ("client_connection_check_interval", "5s"), ("application_name", "subsidy"),
        ]
        return configuration
    }
}

extension DatabaseURL {
    /// The same server and credentials, another database.
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(try .init(configuration: .makeClientConfiguration()))
        default: tls = .prefer(try .init(configuration: .makeClientConfiguration()))
        }
        return PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    /// Opens one connection, runs `body`, and closes it.
    public func withConnection<T>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await PostgresConnection.connect(configuration: try connectionConfiguration(), id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
