public import Foundation

/// The `subsidy` binary next to the test bundle (scripts/test.sh builds it first), run as a
/// process: the commands and the daemon as an operator runs them.
public enum SubsidyCommand {
    public static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("subsidy").path

    /// Runs `subsidy arguments…` with `environment` over the test's own and `stdin` on its
    /// standard input; returns its exit status and what it wrote.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil
    ) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}
