import Foundation

/// The bank API's OpenAPI document, the source of truth the server's types are generated from,
/// as the server serves it at `/openapi.yaml`.
public enum BankAPIDocument {
    public static let yaml: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { preconditionFailure("openapi.yaml is missing from the SubsidyBankAPI bundle") }
        return text
    }()
}
