import Logging
import PostgresNIO
import SubsidyStore
import SubsidyTestSupport
import Testing

@Suite("Migrations against real PostgreSQL", .enabled(if: TestDatabase.isConfigured))
struct MigrationTests {
    let logger = TestDatabase.logger

    func tables(_ client: PostgresClient) async throws -> Set<String> {
        var names: Set<String> = []
        let rows = try await client.query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", logger: logger)
        for try await name in rows.decode(String.self) { names.insert(name) }
        return names
    }

    @Test("the migrations create the tables and record each file with its checksum")
    func appliesAll() async throws {
        try await TestDatabase.withFresh(migrated: false) { client, _ in
            let migrator = try Migrator(folder: TestDatabase.migrationsFolder)
            #expect(try await tables(client).isEmpty)
            let applied = try await migrator.migrate(client, logger: logger)
            #expect(applied == migrator.migrations.map(\.name))
            #expect(applied.first == "001_foundation.sql")
            let present = try await tables(client)
            for table in ["schema_migrations", "firms", "qualifications", "lpr_fixings", "policy_versions", "policy_parameters"] {
                #expect(present.contains(table), "table \(table) missing")
            }
            // shared/data/lpr.csv holds 79 monthly fixings, 2019-08 to 2026-02 (7 × 12 − 7 + 2 = 79).
            let count = try await client.query("SELECT count(*)::int FROM lpr_fixings", logger: logger).decode(Int.self)
            var fixings = 0
            for try await value in count { fixings = value }
            #expect(fixings == 79)
            var checksums: [String] = []
            for try await checksum in try await client.query("SELECT checksum FROM schema_migrations ORDER BY version", logger: logger).decode(String.self) {
                checksums.append(checksum)
            }
            #expect(checksums == migrator.migrations.map(\.checksum))
        }
    }

    @Test("the tables' storage settings: batch lines half-filled pages, interest records vacuumed after 1 %")
    func storageSettings() async throws {
        try await TestDatabase.withFresh { client, _ in
            var options: [String: [String]] = [:]
            let rows = try await client.query(
                """
                SELECT relname::text, reloptions::text[] FROM pg_class
                WHERE relname IN ('batch_lines', 'interest_records') AND relnamespace = 'public'::regnamespace
                """, logger: logger)
            for try await (name, list) in rows.decode((String, [String]).self) { options[name] = list.sorted() }
            // sql/025: room on each page for the approval's and the payment's new row versions (HOT).
            #expect(options["batch_lines"] == ["fillfactor=50"])
            // sql/040: PostgreSQL's defaults are 0.2, 0.2 and 0.1.
            #expect(options["interest_records"] == [
                "autovacuum_analyze_scale_factor=0.01", "autovacuum_vacuum_insert_scale_factor=0.01",
                "autovacuum_vacuum_scale_factor=0.01",
            ])
        }
    }

    @Test("applying twice is a no-op")
    func idempotent() async throws {
        try await TestDatabase.withFresh(migrated: false) { client, _ in
            let migrator = try Migrator(folder: TestDatabase.migrationsFolder)
            let first = try await migrator.migrate(client, logger: logger)
            #expect(!first.isEmpty)
            let second = try await migrator.migrate(client, logger: logger)
            #expect(second.isEmpty)
        }
    }

    @Test("a changed, already-applied migration is refused and nothing is applied")
    func changedFileRefused() async throws {
        try await TestDatabase.withFresh(migrated: false) { client, _ in
            let original = try Migrator(folder: TestDatabase.migrationsFolder)
            try await original.migrate(client, logger: logger)
            var edited = original.migrations
            edited[0] = Migration(version: edited[0].version, name: edited[0].name, sql: edited[0].sql + "\n-- edited\n")
            edited.append(Migration(version: 999, name: "999_later.sql", sql: "CREATE TABLE later (id int);"))
            let migrator = try Migrator(migrations: edited)
            await #expect {
                try await migrator.migrate(client, logger: logger)
            } throws: { error in
                guard case MigrationError.changedAfterApply(let name, _, _) = error else { return false }
                return name == "001_foundation.sql"
            }
            #expect(!(try await tables(client)).contains("later"))
        }
    }

    @Test("a mended migration is accepted where the text it names as replaced was applied, and only there")
    func mendedFileAccepted() async throws {
        try await TestDatabase.withFresh(migrated: false) { client, _ in
            let first = Migration(version: 1, name: "001_a.sql", sql: "CREATE TABLE a (id int);")
            try await Migrator(migrations: [first]).migrate(client, logger: logger)
            let later = Migration(version: 2, name: "002_b.sql", sql: "CREATE TABLE b (id int);")
            // Naming another text (the first's checksum with its last digit changed) is an edit like any other.
            let wrongDigit = first.checksum.last == "0" ? "1" : "0"
            let misnamed = Migration(
                version: 1, name: "001_a.sql", sql: "-- replaces \(first.checksum.dropLast())\(wrongDigit): a mistake\nCREATE TABLE a (id int);")
            #expect(!misnamed.accepts(first.checksum))
            await #expect {
                try await Migrator(migrations: [misnamed, later]).migrate(client, logger: logger)
            } throws: { error in
                guard case MigrationError.changedAfterApply(let name, _, _) = error else { return false }
                return name == "001_a.sql"
            }
            #expect(!(try await tables(client)).contains("b"))
            let mended = Migration(
                version: 1, name: "001_a.sql", sql: "-- replaces \(first.checksum): the text first applied\nCREATE TABLE a (id int);")
            #expect(mended.checksum != first.checksum && mended.replaces == [first.checksum])
            let applied = try await Migrator(migrations: [mended, later]).migrate(client, logger: logger)
            #expect(applied == ["002_b.sql"])
            // What the database applied stays recorded as applied.
            let recorded = try await client.query("SELECT checksum FROM schema_migrations WHERE version = 1", logger: logger).decode(String.self)
            var checksums: [String] = []
            for try await checksum in recorded { checksums.append(checksum) }
            #expect(checksums == [first.checksum])
        }
    }

    @Test("sql/039 compresses a line's text with lz4 where the server has it, and accepts the databases that applied its first text")
    func batchLineTextCompression() async throws {
        let migrator = try Migrator(folder: TestDatabase.migrationsFolder)
        let text = try #require(migrator.migrations.first { $0.version == 39 })
        // sha256 of sql/039 as committed in 5ceff95's tree, which set lz4 without asking the server.
        #expect(text.replaces == ["a77e29c9bb63762fbf9cb62fbc273e079df920f146d21824f7bad79b05e5297a"])
        try await TestDatabase.withFresh { client, _ in
            var hasLZ4 = false
            for try await listed in try await client.query(
                "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'", logger: logger
            ).decode(Bool.self) { hasLZ4 = listed }
            var methods: [String: String] = [:]
            for try await (column, method) in try await client.query(
                """
                SELECT attname::text, attcompression::text FROM pg_attribute
                WHERE attrelid = 'batch_lines'::regclass AND attname IN ('explanation', 'items')
                """, logger: logger
            ).decode((String, String).self) { methods[column] = method }
            // 'l' is lz4; '' is the server's default (pglz where lz4 is not built in).
            let expected = hasLZ4 ? "l" : ""
            #expect(methods == ["explanation": expected, "items": expected])
        }
    }

    @Test("a failing migration leaves no trace: its transaction rolls back")
    func failureRollsBack() async throws {
        try await TestDatabase.withFresh(migrated: false) { client, _ in
            let migrator = try Migrator(migrations: [
                Migration(version: 1, name: "001_ok.sql", sql: "CREATE TABLE ok (id int);"),
                Migration(version: 2, name: "002_bad.sql", sql: "CREATE TABLE half (id int);\nSELECT no_such_function();"),
            ])
            await #expect {
                try await migrator.migrate(client, logger: logger)
            } throws: { error in
                guard case MigrationError.failed(let name, let statement, _) = error else { return false }
                return name == "002_bad.sql" && statement == 2
            }
            let present = try await tables(client)
            #expect(present.contains("ok"))
            #expect(!present.contains("half"))
        }
    }

    @Test("two versions with one number are refused before touching the database")
    func duplicateVersions() throws {
        #expect(throws: MigrationError.self) {
            try Migrator(migrations: [
                Migration(version: 1, name: "001_a.sql", sql: "SELECT 1"),
                Migration(version: 1, name: "001_b.sql", sql: "SELECT 2"),
            ])
        }
    }
}

@Suite("SQL script splitting")
struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesAndComments() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (t text DEFAULT 'x;y');
            /* block; comment */
            CREATE FUNCTION f() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'no; never'; END;
            $$ LANGUAGE plpgsql;
            CREATE FUNCTION g() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            SELECT 'it''s; fine';
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("CREATE TABLE a (t text DEFAULT 'x;y')"))
        #expect(statements[1].contains("RAISE EXCEPTION 'no; never'; END;"))
        #expect(statements[2].hasPrefix("CREATE FUNCTION g()"))
        #expect(statements[3] == "SELECT 'it''s; fine'")
    }

    @Test func emptyStatementsAreDropped() {
        #expect(SQLScript.statements(";;\n-- only a comment\n;").isEmpty)
    }
}

@Suite("DATABASE_URL")
struct DatabaseURLTests {
    @Test func parsesAllParts() throws {
        let url = try DatabaseURL("postgres://subsidy:p%40ss@127.0.0.1:54329/subsidy?sslmode=disable")
        #expect(url.username == "subsidy")
        #expect(url.password == "p@ss")
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 54329)
        #expect(url.database == "subsidy")
        #expect(url.sslMode == "disable")
        #expect(!url.description.contains("p@ss"))
    }

    @Test func rejectsMalformed() {
        for text in ["mysql://a@b/c", "postgres://host:99999/db", "postgres://host:5432/", "postgres://host/db?sslmode=maybe"] {
            #expect(throws: DatabaseURL.ParseError.self, "\(text)") { try DatabaseURL(text) }
        }
    }
}
