import Foundation
@testable import SubsidyRules
import Testing

/// The plain request reader against JSONDecoder: where the plain reader answers, its answer is
/// JSONDecoder's; where it does not, the request is JSONDecoder's to read or refuse.
struct RequestReaderTests {
    static func decoded(_ data: Data) -> RequestDTO? { try? JSONDecoder().decode(RequestDTO.self, from: data) }

    /// Both readers on one text; the plain one must answer, and answer as JSONDecoder.
    static func same(_ json: String) -> Bool {
        let data = Data(json.utf8)
        guard let plain = PlainRequestReader.read(data), let decoded = decoded(data) else { return false }
        return plain == decoded
    }

    @Test("every random request is read plainly, as JSONDecoder reads it", arguments: ["zhuangda", "xinyidai", "equity", "fund", "guarantee"])
    func randomRequests(program: String) {
        for seed in 0..<40 {
            var random = RandomRequest(seed: seed)
            let json = random.json(program: program)
            #expect(Self.same(json), "seed \(seed)")
        }
    }

    @Test("the CALCULATOR.md example is read plainly, every field")
    func example() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: CalculatorExample.path))
        let plain = try #require(PlainRequestReader.read(data))
        #expect(plain == Self.decoded(data))
        // Spot checks against the file itself, so that equality is not of two empty readings.
        #expect(plain.program == "zhuangda" && plain.year == 2025)
        #expect(plain.policy == ["ratio": .text("50"), "firmCap": .text("800000.00"), "lprReference": .text("loanStart")])
        #expect(plain.firms?.first?.name == "某某科技有限公司")
        #expect(plain.firms?.first?.awarded == ["zhuangda": "0.00"])
        #expect(plain.loans?.first?.interest?.first?.paid == "36944.44")
        #expect(plain.loans?.first?.otherSubsidies?.map(\.level) == ["city", "national"])
        #expect(plain.investments?.first?.registeredInCity == true)
        #expect(plain.investments?.first?.recognition == RecognitionDTO(level: "specialized", date: "2026-01-15"))
        #expect(plain.guarantees?.first?.loan == "L-1")
    }

    @Test("forms it reads: nulls for optional fields, tables in policy, empty arrays and objects, white space")
    func formsRead() {
        #expect(Self.same(#"{"program":"zhuangda","year":2025}"#))
        #expect(Self.same(" \t\r\n{ \"year\" : 2025 , \"program\" : \"fund\" } \n"))
        #expect(Self.same(#"{"program":"zhuangda","year":2025,"policy":null,"firms":null,"loans":[],"lpr":null}"#))
        #expect(Self.same(#"{"program":"xinyidai","year":2025,"policy":{"tierRates":{"xinedai":"1.0","huiye":"1.5"},"firmCap":"600000"}}"#))
        #expect(Self.same(#"{"program":"zhuangda","year":2025,"firms":[{"uscc":"x","name":null,"qualifications":null,"awarded":{}}]}"#))
        #expect(Self.same(#"{"program":"equity","year":0,"investments":[{"id":"I","investor":"a","investee":"b","kind":"equity","amount":"1","date":"d","stage":null,"registeredInCity":false,"recognition":null}]}"#))
        #expect(Self.same(#"{"program":"guarantee","year":2025,"guarantees":[{"id":"G","firm":"f","loan":null,"guarantor":"g","principal":"1","from":"a","to":"b","fee":"1","paidOn":"c","otherSubsidies":[]}]}"#))
        #expect(Self.same(#"{"program":"zhuangda","year":2025,"lpr":[{"published":"2025-01-20","oneYear":"3.10","fiveYear":"3.60"}],"usccAllowList":["A","B"]}"#))
        // Text beyond ASCII, and DEL, which JSON allows unescaped.
        #expect(Self.same("{\"program\":\"某某\u{7F}\u{FFFF}😀\",\"year\":2025}"))
    }

    @Test("forms it leaves to JSONDecoder, whose answer or refusal then stands")
    func formsLeft() throws {
        let left = [
            #"{"program":"zhuangda","program":"fund","year":2025}"#,  // a repeated key
            #"{"program":"zhuangda","year":2025,"policy":{"ratio":"50","ratio":"40"}}"#,
            #"{"program":"zhuangda","year":2025,"firms":[{"uscc":"x","awarded":{"a":"1","a":"2"}}]}"#,
            #"{"program":"zhu\u0061ngda","year":2025}"#,  // an escape
            #"{"program":"zhuangda","year":2025,"comment":"x"}"#,  // a key it does not know
            #"{"program":"zhuangda","year":2025.0}"#,
            #"{"program":"zhuangda","year":2.025e3}"#,
            #"{"program":"zhuangda","year":-2025}"#,
            #"{"program":"zhuangda","year":02025}"#,
            #"{"program":"zhuangda","year":"2025"}"#,
            #"{"program":null,"year":2025}"#,
            #"{"year":2025}"#,
            #"{"program":"zhuangda","year":2025}x"#,
            #"{"program":"zhuangda","year":2025,}"#,
            #"{"program":"zhuangda","year":2025,"firms":[null]}"#,
            #"{"program":"zhuangda","year":2025,"policy":{"ratio":50}}"#,
            "\u{FEFF}{\"program\":\"zhuangda\",\"year\":2025}",
            "{\"program\":\"zhu\tangda\",\"year\":2025}",  // a control character
            #"{"program":"zhuangda","year":1234567890}"#,
            #"[]"#, "", "{",
        ]
        for json in left {
            #expect(PlainRequestReader.read(Data(json.utf8)) == nil, "\(json)")
        }
        // Bytes that are not UTF-8 inside a string.
        var bytes = Array(#"{"program":"zhuangda","year":2025}"#.utf8)
        bytes[13] = 0xFF
        #expect(PlainRequestReader.read(Data(bytes)) == nil)
        bytes[13] = 0xED; bytes.insert(contentsOf: [0xA0, 0x80], at: 14)  // an encoded surrogate
        #expect(PlainRequestReader.read(Data(bytes)) == nil)
        // A four-byte sequence cut short: mended into U+FFFD, three bytes like the three it replaces.
        bytes.replaceSubrange(13..<16, with: [0xF0, 0x9F, 0x98])
        #expect(PlainRequestReader.read(Data(bytes)) == nil)
        bytes.replaceSubrange(13..<16, with: [0xF0, 0x9F, 0x98, 0x80])  // 😀, whole
        #expect(PlainRequestReader.read(Data(bytes))?.program == "z😀uangda")

        // The refusals through the public entry are JSONDecoder's, field and words.
        #expect(refusal(#"{"program":"zhuangda","year":"2025"}"#) == InputError(field: "year", message: "expected a whole number"))
        #expect(refusal(#"{"year":2025}"#) == InputError(field: "program", message: "is required"))
        #expect(refusal(#"{"program":"zhuangda","year":2025}x"#) == InputError(field: "", message: "the request is not valid JSON"))
        // And what JSONDecoder accepts still computes.
        #expect(throws: Never.self) { try compute(#"{"program":"zhu\u0061ngda","year":2025,"comment":"x"}"#) }
    }

    @Test("damaged requests: the plain reader answers only as JSONDecoder does")
    func damaged() {
        let pieces: [[UInt8]] = [
            "\"", "\\", "{", "}", "[", "]", ",", ":", "0", "9", "-", ".", "e", "n", "null", "true", " ", "\t",
            "x", "\u{7F}", "é", "中",
        ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0x00], [0x1F]]
        var rng = SeededRNG(seed: 2026)
        var plainAnswers = 0
        var damagedCount = 0
        for seed in 0..<40 {
            var random = RandomRequest(seed: seed)
            let original = Array(random.json(program: ["zhuangda", "xinyidai", "equity", "fund", "guarantee"][seed % 5]).utf8)
            for _ in 0..<60 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let at = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: bytes.remove(at: at)
                    case 1: bytes.insert(contentsOf: pieces.randomElement(using: &rng)!, at: at)
                    case 2: bytes.replaceSubrange(at...at, with: pieces.randomElement(using: &rng)!)
                    default: bytes.insert(bytes[at], at: at)
                    }
                    if bytes.isEmpty { bytes = original }
                }
                let data = Data(bytes)
                damagedCount += 1
                guard let plain = PlainRequestReader.read(data) else { continue }
                plainAnswers += 1
                #expect(plain == Self.decoded(data), "seed \(seed): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        // Many damages leave the request valid (a space, a changed digit in a string): those the
        // plain reader still reads, and its answers were compared above.
        #expect(damagedCount == 2_400)
        #expect(plainAnswers > 200)
    }
}
