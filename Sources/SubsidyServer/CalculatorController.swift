import Foundation
import Hummingbird
import NIOCore
import SubsidyRules

/// `POST /v1/calculate`: the calculator contract over HTTP, the same engine as `subsidy calc`.
struct CalculatorController {
    /// 100,000 interest records are about 20 MB of JSON; 64 MiB leaves room and bounds memory.
    static let bodyLimitBytes = 64 * 1024 * 1024

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("v1/calculate") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(limit: Self.bodyLimitBytes)
            let data = Data(body.readableBytesView)
            do {
                let result = try SubsidyEngine.calculate(json: data)
                return .json(result.json)
            } catch let error as InputError {
                throw APIError.invalid(error)
            }
        }
    }
}
