import Foundation
import Logging
import PostgresNIO
import SubsidyRules
import SubsidyStore
import SubsidyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `subsidy daemon` as a child process, as production does.
struct DaemonProcess {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let process: Process

    static func start(database: DatabaseURL, inbox: URL, arguments: [String] = []) throws -> DaemonProcess {
        try launch(["daemon", "--database-url", urlText(database), "--inbox", inbox.path, "--poll", "1", "--log-level", "warning"] + arguments)
    }

    /// `subsidy arguments…` left running (a daemon, a server).
    static func launch(_ arguments: [String]) throws -> DaemonProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SubsidyCommand.binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        // Warnings and errors of the daemon show in the test log: they explain a failure.
        process.standardError = FileHandle.standardError
        try process.run()
        return DaemonProcess(process: process)
    }

    static func urlText(_ url: DatabaseURL) -> String {
        "postgres://\(url.username):\(url.password ?? "")@\(url.host):\(url.port)/\(url.database)?sslmode=\(url.sslMode)"
    }

    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { usleep(10_000) }
    }

    /// SIGTERM, then waits up to `seconds` for a clean exit; returns the exit status (that of
    /// the earlier exit if it has already ended: a test stops its daemon on every way out, for a
    /// daemon left running holds the test run's standard error open and `swift test` waits).
    func terminate(within seconds: Double = 10) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }
}

/// A batch of `count` exported lines paid by one MT940 statement with `count` debits.
func seedPaidBatch(_ client: PostgresClient, count: Int) async throws -> String {
    let logger = TestDatabase.logger
    // Reference data goes through the administrator (the audit triggers refuse it for nobody):
    // a clerk, and the bureau's disbursement account the statement is for.
    try await UserStore(client: client, logger: logger).actingAs(TestDatabase.admin) { connection in
        try await connection.query("INSERT INTO users (login, display_name, password_hash, roles) VALUES ('seed', 'seed', 'x', '{clerk}')", logger: logger)
        try await connection.query("INSERT INTO banks (code, name) VALUES ('ICBC', '中国工商银行')", logger: logger)
        try await connection.query("INSERT INTO disbursement_accounts (account_no, bank_code, name) VALUES ('6222020000009999', 'ICBC', '财政局专户')", logger: logger)
    }
    try await client.query(
        """
        INSERT INTO batches (program, year, state, created_by, exported_at, total_fen)
        VALUES ('zhuangda', 2025, 'exported', (SELECT id FROM users WHERE login = 'seed'), '2025-10-10 10:00+08', 0)
        """, logger: logger)
    try await client.query(
        """
        INSERT INTO batch_lines (batch_id, line_no, recipient_uscc, recipient_name, computed_fen, previously_fen, amount_fen, payment_ref, items, explanation)
        SELECT 1, i, '9151DAEMON' || lpad(i::text, 8, '0'), 'firm ' || i, 10000 + i, 0, 10000 + i,
               'SLZ2500001' || lpad(i::text, 5, '0') || '0', '[]', '[]'
        FROM generate_series(1, \(count)) i
        """, logger: logger)
    var lines = [":20:DAEMON", ":25:6222020000009999", ":28C:1/1", ":60F:C251010CNY100000000,00"]
    var total: Int64 = 0
    for i in 1...count {
        let fen = Int64(10000 + i)
        total += fen
        lines.append(":61:2510131013D\(fen / 100),\(String(format: "%02d", fen % 100))NTRFNONREF")
        lines.append(":86:/REMI/SLZ2500001\(String(format: "%05d", i))0")
    }
    let closing = 10_000_000_000 - total
    lines.append(":62F:C251013CNY\(closing / 100),\(String(format: "%02d", closing % 100))")
    lines.append("-")
    return lines.joined(separator: "\r\n") + "\r\n"
}

/// Whether `condition` holds within `seconds`, asked every 200 ms. Each asking is bounded by the
/// time left (`withDeadline`), so a query that never answers ends the wait as "no" at the limit.
func waitUntil(_ seconds: Double, _ condition: @escaping @Sendable () async throws -> Bool) async throws -> Bool {
    let limit = Duration.milliseconds(Int(seconds * 1000))
    let deadline = ContinuousClock.now + limit
    do {
        try await eventually("the condition", within: limit, pause: .milliseconds(200)) {
            try await withDeadline(max(deadline - .now, .zero), condition) == true
        }
        return true
    } catch is StepFailure {
        return false
    }
}

/// `operation`'s value within `seconds`, or a failure naming `what` — for the steps after a
/// restart of the database, where a lease from a pool whose server stayed down would wait forever.
func within<T: Sendable>(_ seconds: Int, _ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    guard let value = try await withDeadline(.seconds(seconds), operation) else {
        throw StepFailure(description: "\(what): no answer within \(seconds) s")
    }
    return value
}

@Suite("The reconciliation daemon as a process", .enabled(if: TestDatabase.isConfigured), .serialized, .timeLimit(.minutes(8)))
struct DaemonTests {
    @Test("kill -9 at any moment and a restart reach the state of an uninterrupted run (10,000 lines)")
    func killAndRestart() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: SubsidyCommand.binary), "build the subsidy product first (scripts/test.sh does)")
        try await TestDatabase.withFresh { client, url in
            let statement = try await seedPaidBatch(client, count: 10_000)
            let inbox = FileManager.default.temporaryDirectory.appendingPathComponent("inbox-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: inbox) }
            // Written under a temporary name and renamed, as a bank's file transfer would.
            try Data(statement.utf8).write(to: inbox.appendingPathComponent("statement.sta.part"))
            try FileManager.default.moveItem(at: inbox.appendingPathComponent("statement.sta.part"), to: inbox.appendingPathComponent("statement.sta"))

            // Kill the daemon hard at several moments while it imports.
            for delay in [0.3, 0.8, 1.5, 2.5] {
                let daemon = try DaemonProcess.start(database: url, inbox: inbox)
                defer { daemon.kill9() }
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                daemon.kill9()
                // Never half an import: all 10,000 payments or none.
                let paid = try await count(client, "SELECT count(*)::int FROM entry_lines WHERE kind = 'payment'")
                #expect(paid == 0 || paid == 10_000, "after kill -9: \(paid) payments")
            }
            let daemon = try DaemonProcess.start(database: url, inbox: inbox)
            defer { _ = daemon.terminate() }
            let done = try await waitUntil(120) {
                FileManager.default.fileExists(atPath: inbox.appendingPathComponent("processed/statement.sta").path)
            }
            #expect(done, "the file reaches processed/")
            #expect(daemon.terminate() == 0, "SIGTERM stops the daemon cleanly")

            #expect(try await count(client, "SELECT count(*)::int FROM statements") == 1)
            #expect(try await count(client, "SELECT count(*)::int FROM statement_entries") == 10_000)
            #expect(try await count(client, "SELECT count(*)::int FROM entry_lines WHERE kind = 'payment'") == 10_000)
            #expect(try await count(client, "SELECT count(DISTINCT batch_line_id)::int FROM entry_lines WHERE kind = 'payment'") == 10_000)
            #expect(try await count(client, "SELECT count(*)::int FROM batch_lines WHERE status = 'paid'") == 10_000)
            // One ledger entry for the statement's 10,000 payments of one batch (sql/041): a payable
            // debit for each, each link naming its own, and the bank credited their sum,
            // Σ (10,000 + i) 分 for i = 1…10,000 = 100,000,000 + 50,005,000 = 150,005,000 分.
            #expect(try await count(client, "SELECT count(*)::int FROM journal_entries WHERE kind = 'payment'") == 1)
            #expect(try await count(client, """
                SELECT -sum(l.amount_fen)::int FROM journal_lines l JOIN accounts a ON a.id = l.account_id JOIN journal_entries e ON e.seq = l.entry_seq
                WHERE a.code = 'bank:bureau' AND e.kind = 'payment'
                """) == 150_005_000)
            #expect(try await count(client, "SELECT count(*)::int FROM journal_lines l JOIN journal_entries e ON e.seq = l.entry_seq WHERE e.kind = 'payment' AND l.amount_fen > 0") == 10_000)
            #expect(try await count(client, "SELECT count(*)::int FROM entry_lines el JOIN journal_lines jl ON (jl.entry_seq, jl.line_no) = (el.journal_seq, el.journal_line) WHERE el.kind = 'payment'") == 10_000)
            #expect(try await count(client, "SELECT count(*)::int FROM batches WHERE state = 'paid'") == 1)
            #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)
            #expect(try FileManager.default.contentsOfDirectory(atPath: inbox.path).filter { !$0.hasPrefix(".") }.sorted() == ["processed", "rejected"])

            // The same file dropped again changes nothing.
            try Data(statement.utf8).write(to: inbox.appendingPathComponent("again.sta"))
            let second = try DaemonProcess.start(database: url, inbox: inbox)
            defer { _ = second.terminate() }
            #expect(try await waitUntil(60) { FileManager.default.fileExists(atPath: inbox.appendingPathComponent("processed/again.sta").path) })
            #expect(second.terminate() == 0)
            #expect(try await count(client, "SELECT count(*)::int FROM journal_lines l JOIN journal_entries e ON e.seq = l.entry_seq WHERE e.kind = 'payment' AND l.amount_fen > 0") == 10_000)

            // A file that is not a statement goes to rejected/ with the reason beside it.
            try Data("not a statement\n".utf8).write(to: inbox.appendingPathComponent("junk.sta"))
            let third = try DaemonProcess.start(database: url, inbox: inbox)
            defer { _ = third.terminate() }
            #expect(try await waitUntil(30) { FileManager.default.fileExists(atPath: inbox.appendingPathComponent("rejected/junk.sta.error.txt").path) })
            #expect(third.terminate() == 0)
        }
    }

    @Test("subsidy statement import as a process: a file that does not parse is exit 2 whatever the password, and nothing is imported")
    func importCommand() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: SubsidyCommand.binary), "build the subsidy product first (scripts/test.sh does)")
        try await TestDatabase.withFresh { client, url in
            let statement = try await seedPaidBatch(client, count: 40)
            try await UserStore(client: client, logger: TestDatabase.logger)
                .add(login: "clerk", displayName: "王会计", password: "clerk-password-1", roles: [.clerk], by: TestDatabase.admin, cost: 4)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let good = folder.appendingPathComponent("good.sta"), bad = folder.appendingPathComponent("bad.sta")
            try Data(statement.utf8).write(to: good)
            // The 21st payment's :61: loses its amount (line 5 + 2 × 20 = 45 of the file).
            var lines = statement.components(separatedBy: "\r\n")
            lines[44] = ":61:2510131013DNTRFNONREF"
            try Data(lines.joined(separator: "\r\n").utf8).write(to: bad)

            func run(_ file: URL, password: String) throws -> (status: Int32, out: String, err: String) {
                try SubsidyCommand.run(
                    ["statement", "import", file.path, "--user", "clerk", "--database-url", DaemonProcess.urlText(url)],
                    environment: ["SUBSIDY_PASSWORD": password, "LOG_LEVEL": "warning"])
            }
            func imported() async throws -> [Int] {
                [try await count(client, "SELECT count(*)::int FROM statements"),
                 try await count(client, "SELECT count(*)::int FROM journal_lines l JOIN journal_entries e ON e.seq = l.entry_seq WHERE e.kind = 'payment' AND l.amount_fen > 0"),
                 try await count(client, "SELECT count(*)::int FROM batch_lines WHERE status = 'paid'")]
            }

            // The file is parsed while the clerk signs in: its error is what is reported (exit 2),
            // with the line, whether the password was right or wrong.
            for password in ["clerk-password-1", "wrong-password"] {
                let refused = try run(bad, password: password)
                #expect(refused.status == 2, "\(password): \(refused.err)")
                #expect(refused.err.contains("line 45"), "\(password): \(refused.err)")
                #expect(try await imported() == [0, 0, 0])
            }
            let wrong = try run(good, password: "wrong-password")
            #expect(wrong.status != 0 && wrong.err.contains("wrong password"), "\(wrong.err)")
            #expect(try await imported() == [0, 0, 0])

            let done = try run(good, password: "clerk-password-1")
            #expect(done.status == 0, "\(done.err)")
            #expect(done.out.contains("Imported 1 statement(s)") && done.out.contains("40 entries"), "\(done.out)")
            #expect(try await imported() == [1, 40, 40])
            // Imported once: the same file again is recognised and changes nothing.
            let again = try run(good, password: "clerk-password-1")
            #expect(again.status == 0 && again.out.contains("1 already imported"), "\(again.out)")
            #expect(try await imported() == [1, 40, 40])

            // The statement's report as an operator writes it: CSV to the standard output, the 40
            // payments matched; an .xlsx file; a statement that does not exist refused, no file left.
            func report(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
                try SubsidyCommand.run(
                    ["report", "reconciliation"] + arguments + ["--database-url", DaemonProcess.urlText(url)], environment: ["LOG_LEVEL": "warning"])
            }
            let csv = try report(["--statement", "1", "--format", "csv"])
            #expect(csv.status == 0 && csv.out.hasPrefix("\u{FEFF}类别 Category,"), "\(csv.err)")
            #expect(csv.out.contains(",40 笔 items,,matched\r\n"), "\(csv.out.prefix(600))")
            #expect(csv.out.components(separatedBy: "\r\nmatched,").count - 1 == 40)
            let sheet = folder.appendingPathComponent("report.xlsx")
            let xlsx = try report(["--statement", "1", "--format", "xlsx", "--out", sheet.path])
            #expect(xlsx.status == 0, "\(xlsx.err)")
            #expect(try Data(contentsOf: sheet).prefix(4) == Data([0x50, 0x4B, 0x03, 0x04]))  // a ZIP: the workbook
            let missing = folder.appendingPathComponent("missing.csv")
            let refused = try report(["--statement", "99", "--format", "csv", "--out", missing.path])
            #expect(refused.status != 0 && !FileManager.default.fileExists(atPath: missing.path), "\(refused.err)")
        }
    }

    @Test("SIGTERM stops the daemon even while its database is down: the step under way is cancelled after --stop-within")
    func stopsWithDatabaseDown() async throws {
        let inbox = FileManager.default.temporaryDirectory.appendingPathComponent("inbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: inbox) }
        // Nothing listens there: the daemon's first heartbeat waits for a connection the pool
        // never makes, which graceful shutdown alone never ended.
        let nowhere = try DatabaseURL("postgres://subsidy:x@127.0.0.1:\(freeLoopbackPort())/none?sslmode=disable")
        let daemon = try DaemonProcess.start(database: nowhere, inbox: inbox, arguments: ["--stop-within", "2"])
        defer { daemon.kill9() }
        try await Task.sleep(for: .seconds(2))
        #expect(daemon.process.isRunning)
        // Stopped within the 2 s and the cancellation (10 s allowed), exit status 0.
        #expect(daemon.terminate(within: 12) == 0)
    }

    @Test("subsidy serve stops on SIGTERM with exit status 0, with its daemon and without")
    func serveStops() async throws {
        try await TestDatabase.withFresh { _, url in
            let inbox = FileManager.default.temporaryDirectory.appendingPathComponent("inbox-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: inbox) }
            for extra in [["--no-daemon"], ["--inbox", inbox.path]] {
                let port = freeLoopbackPort()
                let server = try DaemonProcess.launch([
                    "serve", "--no-migrate", "--host", "127.0.0.1", "--port", String(port), "--database-url", DaemonProcess.urlText(url),
                    "--log-level", "warning", "--stop-within", "5",
                ] + extra)
                defer { server.kill9() }
                #expect(try await waitUntil(60) { isListening(port) }, "\(extra): listening")
                #expect(server.terminate(within: 20) == 0, "\(extra)")
            }
        }
    }

    @Test("PostgreSQL restarting under the daemon: it reconnects and goes on (own cluster)")
    func postgresRestart() async throws {
        let cluster = DaemonProcess.repository.appendingPathComponent(".pg-test-restart-\(ProcessInfo.processInfo.processIdentifier)")
        let port = freeLoopbackPort()
        let url = try DatabaseURL(try clusterScript(["start", "--port", String(port)], cluster: cluster))
        let ownerURL = try DatabaseURL(try clusterScript(["url", "--owner"], cluster: cluster))
        do {
            try await daemonSurvivesRestart(url: url, ownerURL: ownerURL, cluster: cluster)
        } catch {
            _ = try? clusterScript(["destroy"], cluster: cluster)
            throw error
        }
        _ = try? clusterScript(["destroy"], cluster: cluster)
    }

    func daemonSurvivesRestart(url: DatabaseURL, ownerURL: DatabaseURL, cluster: URL) async throws {
        // Migrated by the schema's owner, as `subsidy migrate` does; everything else as the service.
        let migrator = try Migrator(folder: TestDatabase.migrationsFolder)
        let owner = PostgresClient(configuration: ownerURL.clientConfiguration(), backgroundLogger: TestDatabase.logger)
        let ownerRunner = Task { await owner.run() }
        try await migrator.migrate(owner, logger: TestDatabase.logger)
        ownerRunner.cancel()
        let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: TestDatabase.logger)
        let runner = Task { await client.run() }
        try await UserStore(client: client, logger: TestDatabase.logger)
            .initialise(admin: TestDatabase.admin.login, displayName: "管理员", password: TestDatabase.adminPassword, rehearsal: true, cost: 4)
        let statement = try await seedPaidBatch(client, count: 20)
        let inbox = FileManager.default.temporaryDirectory.appendingPathComponent("inbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let daemon = try DaemonProcess.start(database: url, inbox: inbox)
        defer {
            _ = daemon.terminate()
            runner.cancel()
            try? FileManager.default.removeItem(at: inbox)
        }
        #expect(try await waitUntil(30) { (try? await count(client, "SELECT count(*)::int FROM daemon_status")) == 1 })

        _ = try clusterScript(["restart"], cluster: cluster)
        // Dropped while the daemon's connections are gone: it reconnects and imports it.
        try Data(statement.utf8).write(to: inbox.appendingPathComponent("after-restart.sta"))
        let imported = try await waitUntil(90) {
            FileManager.default.fileExists(atPath: inbox.appendingPathComponent("processed/after-restart.sta").path)
        }
        #expect(imported, "the daemon reconnected after the restart")
        #expect(try await within(60, "lines paid") { try await count(client, "SELECT count(*)::int FROM batch_lines WHERE status = 'paid'") } == 20)
        // An upload wakes it through LISTEN/NOTIFY on the re-established connection.
        _ = try await within(60, "an upload") {
            try await client.query("INSERT INTO statement_uploads (name, content) VALUES ('junk.txt', \(ByteBuffer(string: "junk")))", logger: TestDatabase.logger)
        }
        #expect(try await waitUntil(30) { (try? await count(client, "SELECT count(*)::int FROM statement_uploads WHERE status = 'rejected'")) == 1 })
        #expect(daemon.terminate() == 0)
    }
}

/// scripts/pg.sh on a cluster of the test's own, so that restarting it disturbs no other test.
/// Run through posix_spawn and waitpid: Foundation's Process does not reap this script's exit on
/// Linux when the PostgreSQL server it starts outlives it, and would wait forever. A failure
/// (exit status other than 0) throws with what the script wrote to its standard error; a
/// script still running after `limit` seconds is killed, with its process group, and throws.
func clusterScript(_ arguments: [String], cluster: URL, limit: Double = 180) throws -> String {
    let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString).out")
    let errorFile = outputFile.appendingPathExtension("err")
    defer {
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }
    let script = DaemonProcess.repository.appendingPathComponent("scripts/pg.sh").path
    let command = ([script] + arguments + ["--dir", cluster.path]).map { "'\($0)'" }.joined(separator: " ")
        + " > '\(outputFile.path)' 2> '\(errorFile.path)' < /dev/null"
    var environment = ProcessInfo.processInfo.environment
    environment["DATABASE_URL"] = nil
    environment["PG_FSYNC"] = "off"
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    let arguments: [String] = ["/bin/sh", "-c", command]
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer {
        envp.forEach { free($0) }
        argv.forEach { free($0) }
    }
    // A process group of its own, so that a script past its time is killed with its children.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)
    var pid: pid_t = 0
    guard posix_spawn(&pid, "/bin/sh", nil, &attributes, argv, envp) == 0 else { throw CocoaError(.executableLoad) }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(limit)
    while true {
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid || (reaped == -1 && errno != EINTR) { break }
        if Date() > deadline {
            kill(-pid, SIGKILL)
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            throw StepFailure(description: "pg.sh \(arguments.joined(separator: " ")): still running after \(Int(limit)) s, killed")
        }
        usleep(50_000)
    }
    let output = String(decoding: (try? Data(contentsOf: outputFile)) ?? Data(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    // WEXITSTATUS: the exit status is the second byte; a signal death leaves the low bits set.
    guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
        let errors = String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
        throw StepFailure(description: "pg.sh \(arguments.joined(separator: " ")) failed (wait status \(status)): \(errors.suffix(2000))")
    }
    return output
}

/// A port free on 127.0.0.1 below the kernel's ephemeral range (ip_local_port_range), for a
/// server the test restarts: while it is down, a port from that range can be handed to any
/// outgoing connection or any other test's server bound to port 0, and the restarted server
/// then cannot listen — it stays down (seen in CI: the restart test waited until CI's time ran
/// out). Nothing is handed a port below the range unless it asks for that port.
func freeLoopbackPort() -> Int {
    let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
        .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) } ?? []
    let below = max(range.first ?? 32_768, 12_000)
    for _ in 0..<200 {
        let candidate = Int.random(in: 10_000..<below)
        if isFreeLoopbackPort(candidate) { return candidate }
    }
    return 10_000 + Int(ProcessInfo.processInfo.processIdentifier % 2000)
}

/// Whether something accepts connections on 127.0.0.1:`port`.
func isListening(_ port: Int) -> Bool { onLoopback(port, connect) }

/// Whether 127.0.0.1:`port` can be bound, i.e. nothing holds it.
func isFreeLoopbackPort(_ port: Int) -> Bool { onLoopback(port, bind) }

/// `call` (bind or connect) on a new TCP socket with 127.0.0.1:`port`; whether it succeeded.
func onLoopback(_ port: Int, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
