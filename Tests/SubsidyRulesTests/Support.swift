import Foundation
import SubsidyRules
import Testing

/// Known-valid USCCs from RULES.md §1.
let firmA = "91350200776049653A"
let firmB = "913502000728319549"
let firmC = "91440101MA5CJQ4N59"

func compute(_ json: String) throws(InputError) -> CalculationResult {
    try SubsidyEngine.calculate(json: Data(json.utf8))
}

/// The error a request is refused with, or `nil` when it is accepted.
func refusal(_ json: String) -> InputError? {
    do {
        _ = try compute(json)
        return nil
    } catch {
        return error
    }
}

func money(_ text: String) -> Money {
    try! Money.parse(text, field: "test")
}

extension CalculationResult {
    func award(_ recipient: String) -> Award? { awards.first { $0.recipient == recipient } }
    func item(_ id: String) -> AwardItem? { awards.flatMap(\.items).first { $0.id == id } }
    func exclusion(_ id: String) -> Exclusion? { excluded.first { $0.id == id } }
}

/// A firm with one qualification, as request JSON.
func firmJSON(_ uscc: String, level: String = "specialized", from: String = "2024-03-01", to: String = "2027-02-28", awarded: String = "") -> String {
    """
    { "uscc": "\(uscc)", "name": "测试企业 \(uscc.suffix(4))",
      "qualifications": [ { "level": "\(level)", "from": "\(from)", "to": "\(to)" } ]\(awarded.isEmpty ? "" : ", \"awarded\": {\(awarded)}") }
    """
}
