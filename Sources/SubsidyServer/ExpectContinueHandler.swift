public import HummingbirdCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import SubsidyRules

/// Answers `Expect: 100-continue` with the interim `100 Continue` as soon as the request's head
/// arrives (RFC 9110 §10.1.1). Hummingbird sends none, and a client that asks — curl for every
/// body over 1 MB, .NET's HttpClient and Java's with the option set — waits for it before sending
/// the body: curl a whole second, which was a third of the time of a 37,538-record upload. The
/// final answer (401, 413, 422 or 200) still comes after the body, as for any request.
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let request) = unwrapInboundIn(data), Self.expectsContinue(request) {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }

    /// Whether the request asks for `100 Continue` before its body (the token is case-insensitive).
    static func expectsContinue(_ request: HTTPRequest) -> Bool {
        request.headerFields[values: .expect].contains { value in
            value.split(separator: ",").contains { String($0).trimmingSpaces().lowercased() == "100-continue" }
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as the service serves it: `100 Continue` answered, and a connection that sends
    /// nothing for a minute (a stalled upload among them) closed — uploads are read whole before
    /// they take a database connection, and this bounds how long a stalled one holds its buffer.
    public static var subsidyHTTP1: HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()], idleTimeout: .seconds(60)))
    }
}
