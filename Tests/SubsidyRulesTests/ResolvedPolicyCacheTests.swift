import SubsidyRules
import Testing

/// The calculator remembers resolved policies (`ResolvedPolicy.resolved`): a hit must never hand
/// back the values of another version, program or set of overrides, and a refusal must stay a
/// refusal.
@Suite("Resolved policy cache")
struct ResolvedPolicyCacheTests {
    let version = try! PolicyDocument.builtIn.version(forYear: 2025)

    @Test("same inputs give the same values; another override, program or version is resolved anew")
    func keyedByEverything() throws {
        let plain = try ResolvedPolicy.resolved(version: version, program: .zhuangda, overrides: [:])
        let again = try ResolvedPolicy.resolved(version: version, program: .zhuangda, overrides: [:])
        #expect(plain.zhuangdaFirmCap == again.zhuangdaFirmCap)
        #expect(plain.zhuangdaFirmCap.fen == 80_000_000)  // 800,000.00 yuan (item 6) = 80,000,000 fen

        let lowered = try ResolvedPolicy.resolved(version: version, program: .zhuangda, overrides: ["firmCap": .text("700000.00")])
        #expect(lowered.zhuangdaFirmCap.fen == 70_000_000)  // 700,000.00 yuan
        #expect(lowered.overridden == ["zhuangda.firmCap"])
        // The plain one is unchanged by the override's entry beside it.
        #expect(try ResolvedPolicy.resolved(version: version, program: .zhuangda, overrides: [:]).zhuangdaFirmCap.fen == 80_000_000)

        // Same id, another value: an edited version must not be served from the cache.
        var edited = version
        let index = try #require(edited.parameters.firstIndex { $0.key == "zhuangda.firmCap" })
        edited.parameters[index].value = "600000.00"
        #expect(edited.id == version.id)
        #expect(try ResolvedPolicy.resolved(version: edited, program: .zhuangda, overrides: [:]).zhuangdaFirmCap.fen == 60_000_000)
        #expect(try ResolvedPolicy.resolved(version: version, program: .zhuangda, overrides: [:]).zhuangdaFirmCap.fen == 80_000_000)
    }

    @Test("a refused override is refused every time, and many distinct overrides keep it bounded")
    func refusalsAndBound() throws {
        for _ in 0..<2 {
            #expect(throws: InputError.self) {
                try ResolvedPolicy.resolved(version: version, program: .zhuangda, overrides: ["firmCap": .text("900000.00")])
            }
        }
        // 600 distinct caps (more than the cache holds): each answer is its own value.
        for yuan in 1...600 {
            let policy = try ResolvedPolicy.resolved(version: version, program: .xinyidai, overrides: ["firmCap": .text("\(yuan).00")])
            #expect(policy.xinyidaiFirmCap.fen == Int64(yuan) * 100)
        }
    }
}
