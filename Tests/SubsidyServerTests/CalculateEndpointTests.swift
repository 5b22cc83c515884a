import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SubsidyServer
import SubsidyTestSupport
import Testing

let examplePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/demo/calc-zhuangda.json").path

@Suite("POST /v1/calculate")
struct CalculateEndpointTests {
    @Test("returns the calculator document for the CALCULATOR.md example")
    func example() async throws {
        let app = Application(router: try buildRouter(health: nil))
        let body = try Data(contentsOf: URL(fileURLWithPath: examplePath))
        try await app.test(.router) { http in
            try await http.execute(uri: "/v1/calculate", method: .post, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect(json?["total"] as? String == "15069.45")
                let award = (json?["awards"] as? [[String: Any]])?.first
                #expect((award?["items"] as? [[String: Any]])?.first?["amount"] as? String == "15069.45")
            }
        }
    }

    @Test("answers 422 with {error, field} on invalid input")
    func invalid() async throws {
        let app = Application(router: try buildRouter(health: nil))
        let body = try String(contentsOfFile: examplePath, encoding: .utf8).replacingOccurrences(of: "36944.44", with: "36944.4x")
        try await app.test(.router) { http in
            try await http.execute(uri: "/v1/calculate", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .unprocessableContent)
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String]
                #expect(json?["field"] == "loans[0].interest[0].paid")
                #expect(json?["error"]?.contains("36944.4x") == true)
            }
        }
    }

    @Test("works over a real socket too")
    func live() async throws {
        let app = Application(router: try buildRouter(health: nil), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { http in
            try await http.execute(uri: "/v1/calculate", method: .post, body: ByteBuffer(string: #"{"program":"fund","year":2025}"#)) { response in
                #expect(response.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect(json?["total"] as? String == "0.00")
                #expect((json?["awards"] as? [Any])?.isEmpty == true)
            }
        }
    }
}

@Suite("subsidy calc")
struct CalcCommandTests {
    @Test("prints the response JSON, pretty on request, and reads standard input")
    func json() throws {
        #expect(FileManager.default.isExecutableFile(atPath: SubsidyCommand.binary), "build the subsidy product first (scripts/test.sh does)")
        let compact = try SubsidyCommand.run(["calc", examplePath])
        #expect(compact.status == 0)
        #expect(compact.out.hasPrefix(#"{"program":"zhuangda","year":2025,"total":"15069.45""#))
        let pretty = try SubsidyCommand.run(["calc", "-", "--pretty"], stdin: try Data(contentsOf: URL(fileURLWithPath: examplePath)))
        #expect(pretty.status == 0)
        #expect(pretty.out.contains("\n  \"total\": \"15069.45\""))
    }

    @Test("--format text shows the explanation with Chinese and English headings")
    func text() throws {
        let result = try SubsidyCommand.run(["calc", examplePath, "--format", "text"])
        #expect(result.status == 0)
        #expect(result.out.contains("合计 Total: 15,069.45"))
        #expect(result.out.contains("[zhuangda.lprInterest] L-1/R-1 5,000,000.00 × 3.10% × 70 / 360 = 30,138.89"))
    }

    @Test("exit status 2 with {error, field} on standard error for invalid input")
    func invalid() throws {
        let result = try SubsidyCommand.run(["calc", "-"], stdin: Data(#"{"program":"zhuangda","year":2025,"loans":[{"id":"L"}]}"#.utf8))
        #expect(result.status == 2)
        #expect(result.out.isEmpty)
        let error = try JSONSerialization.jsonObject(with: Data(result.err.utf8)) as? [String: String]
        #expect(error?["field"] == "loans[0].firm")
        #expect(error?["error"] == "is required")
    }
}
