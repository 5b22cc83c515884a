public import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
public import SubsidyRules

/// ISO 20022 camt.053 (versions .001.02, .04, .08): several statements per file, every balance
/// type, batch bookings (`NtryDtls/Btch`), counterparty and remittance from the transaction details.
public enum Camt053Parser {
    /// An element of the statement being read (entries are taken out as they close).
    final class Node {
        let name: String
        var attributes: [String: String]
        var text = ""
        var children: [Node] = []
        /// Whether a child element was ever opened here (entries are taken out as they close).
        var hadChildren = false
        let line: Int
        weak var parent: Node?

        init(name: String, attributes: [String: String], line: Int, parent: Node?) {
            self.name = name
            self.attributes = attributes
            self.line = line
            self.parent = parent
        }

        func child(_ name: String) -> Node? { children.first { $0.name == name } }
        func all(_ name: String) -> [Node] { children.filter { $0.name == name } }

        /// The node at a relative path such as `Tp/CdOrPrtry/Cd`.
        func at(_ path: String) -> Node? {
            var node: Node? = self
            for part in path.split(separator: "/") { node = node?.child(String(part)) }
            return node
        }

        func value(_ path: String) -> String? {
            guard let text = at(path)?.text.trimmingSpacesAndNewlines(), !text.isEmpty else { return nil }
            return text
        }

        var path: String {
            var names: [String] = []
            var node: Node? = self
            while let current = node {
                names.append(current.name)
                node = current.parent
            }
            return names.reversed().joined(separator: "/")
        }
    }

    /// A streaming reader: the element tree lives only for the statement being read, and each
    /// `<Ntry>` is turned into an entry and dropped as soon as it closes, so memory follows the
    /// entries kept, not the document. Depth, text and expansion are bounded: a DTD with entities
    /// (a billion-laughs file) is refused.
    final class StreamReader: NSObject, XMLParserDelegate {
        var root: Node?
        var stack: [Node] = []
        var statements: [BankStatement] = []
        var entries: EntryList
        /// Entries of the statements already closed: the limit is the file's, as in every format.
        var entriesBefore = 0
        var statementCount = 0
        /// The first fault, which the Linux XMLParser does not always report itself.
        var fault: StatementError?
        /// Characters read in all: past a few times the file's size, entities are expanding.
        var characters = 0
        let maxCharacters: Int
        let maxEntries: Int

        init(fileBytes: Int, maxEntries: Int, keepingEntries: Bool) {
            maxCharacters = max(fileBytes, 1024) * 2
            self.maxEntries = maxEntries
            entries = EntryList(keeping: keepingEntries)
        }

        func fail(_ parser: XMLParser, _ error: StatementError) {
            if fault == nil { fault = error }
            parser.abortParsing()
        }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            guard fault == nil else { return }
            guard stack.count < StatementLimits.maxXMLDepth else {
                return fail(parser, StatementError(location: "line \(parser.lineNumber)", message: "elements nested deeper than \(StatementLimits.maxXMLDepth)"))
            }
            // Namespace prefixes (`ns2:Stmt`) are dropped: versions differ only in their namespace.
            let name = elementName.split(separator: ":").last.map(String.init) ?? elementName
            let node = Node(name: name, attributes: attributes, line: parser.lineNumber, parent: stack.last)
            stack.last?.children.append(node)
            stack.last?.hadChildren = true
            if root == nil { root = node }
            stack.append(node)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard fault == nil else { return }
            let name = elementName.split(separator: ":").last.map(String.init) ?? elementName
            guard let open = stack.popLast(), open.name == name else {
                let expected = stack.last.map { "</\($0.name)> for the <\($0.name)> opened at line \($0.line)" } ?? "no closing tag"
                return fail(parser, StatementError(location: "line \(parser.lineNumber)", message: "</\(name)> where \(expected) was expected"))
            }
            do {
                if name == "Ntry", let statement = open.parent, statement.name == "Stmt" {
                    guard entriesBefore + entries.count < maxEntries else { throw StatementLimits.tooManyEntries(maxEntries, location: open.path) }
                    let location = "\(statement.path)[\(statementCount)] (line \(statement.line))/Ntry[\(entries.count)] (line \(open.line))"
                    entries.append(try Camt053Parser.entry(open, location: location))
                    statement.children.removeLast()
                } else if name == "Stmt" {
                    statements.append(try Camt053Parser.statement(open, index: statementCount, entries: entries))
                    statementCount += 1
                    entriesBefore += entries.count
                    entries = EntryList(keeping: entries.keeping)
                    open.parent?.children.removeLast()
                }
            } catch let error as StatementError {
                fail(parser, error)
            } catch {
                fail(parser, StatementError(location: "line \(parser.lineNumber)", message: "\(error)"))
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard fault == nil, let node = stack.last else { return }
            characters += string.utf8.count
            // camt.053 has no mixed content: the white space between a container's children
            // (a newline after each of a million entries) is layout, not text to keep.
            if node.hadChildren, string.allSatisfy(\.isWhitespace) { return }
            guard characters <= maxCharacters, node.text.utf8.count + string.utf8.count <= StatementLimits.maxXMLTextBytes else {
                return fail(parser, StatementError(
                    location: "line \(parser.lineNumber)", message: "more text than the file holds (entity expansion) or an element over 64 KiB: refused"))
            }
            node.text += string
        }

        func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
            fail(parser, StatementError(location: "line \(parser.lineNumber)", message: "the document declares the entity \(name): camt.053 has no DTD, refused"))
        }

        func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
            fail(parser, StatementError(location: "line \(parser.lineNumber)", message: "the document declares the external entity \(name): refused"))
        }
    }

    public static func parse(
        _ data: Data, maxEntries: Int = StatementLimits.maxEntries, keepingEntries: Bool = true
    ) throws(StatementError) -> [BankStatement] {
        // A DTD has no place in camt.053: refused before the XML parser expands anything.
        if let head = String(data: data.prefix(4096), encoding: .utf8), head.contains("<!DOCTYPE") || head.contains("<!ENTITY") {
            throw StatementError(location: "line 1", message: "the document has a DTD (<!DOCTYPE>/<!ENTITY>): camt.053 has none, refused")
        }
        // Fed as a stream: libxml2 then reads it in chunks (one chunk of more than 10 MB is refused
        // by its non-"huge" limits, and a document tree is never built).
        let parser = XMLParser(stream: InputStream(data: data))
        parser.shouldResolveExternalEntities = false
        let reader = StreamReader(fileBytes: data.count, maxEntries: maxEntries, keepingEntries: keepingEntries)
        parser.delegate = reader
        let parsed = parser.parse()
        if let fault = reader.fault { throw fault }
        guard parsed, let root = reader.root else {
            let message = parser.parserError.map { "not well-formed XML (\($0.localizedDescription))" } ?? "not well-formed XML"
            throw StatementError(location: "line \(parser.lineNumber)", message: message)
        }
        if let open = reader.stack.last {
            throw StatementError(location: "line \(parser.lineNumber)", message: "<\(open.name)> opened at line \(open.line) is never closed")
        }
        guard root.name == "Document" else {
            throw StatementError(location: root.path, message: "expected a camt.053 <Document>, found <\(root.name)>")
        }
        let namespace = root.attributes["xmlns"] ?? ""
        if !namespace.isEmpty, !namespace.hasPrefix("urn:iso:std:iso:20022:tech:xsd:camt.053.") {
            throw StatementError(location: root.path, message: "namespace \(namespace) is not camt.053")
        }
        guard let message = root.child("BkToCstmrStmt") else {
            throw StatementError(location: root.path, message: "no <BkToCstmrStmt> (bank-to-customer statement)")
        }
        guard !reader.statements.isEmpty else {
            throw StatementError(location: message.path + " (line \(message.line))", message: "no <Stmt>: the message holds no statement")
        }
        return reader.statements
    }

    static func statement(_ node: Node, index: Int, entries: EntryList) throws(StatementError) -> BankStatement {
        let location = "\(node.path)[\(index)] (line \(node.line))"
        guard let account = node.value("Acct/Id/IBAN") ?? node.value("Acct/Id/Othr/Id") else {
            throw StatementError(location: location, message: "no account (<Acct><Id><IBAN> or <Othr><Id>)")
        }
        var balances: [StatementBalance] = []
        for (balanceIndex, balanceNode) in node.all("Bal").enumerated() {
            let where_ = "\(location)/Bal[\(balanceIndex)]"
            guard let type = balanceNode.value("Tp/CdOrPrtry/Cd") ?? balanceNode.value("Tp/CdOrPrtry/Prtry") else {
                throw StatementError(location: where_, message: "balance without a type (<Tp><CdOrPrtry><Cd>)")
            }
            let (amount, currency) = try self.amount(balanceNode, location: where_)
            let date = try self.date(balanceNode.child("Dt"), location: where_ + "/Dt")
            balances.append(StatementBalance(type: type, amount: amount, currency: currency, date: date))
        }
        let currency = node.value("Acct/Ccy") ?? balances.first?.currency ?? ""
        // Opening: OPBD, else PRCD (previously closed); closing: CLBD.
        let opening = balances.first { $0.type == "OPBD" } ?? balances.first { $0.type == "PRCD" }
        let closing = balances.first { $0.type == "CLBD" }
        return BankStatement(
            account: account, currency: currency,
            statementNumber: node.value("ElctrncSeqNb") ?? node.value("LglSeqNb") ?? node.value("Id") ?? "",
            openingBalance: opening, closingBalance: closing, balances: balances, entries: entries.kept, origin: location,
            tally: entries.checkedOnly)
    }

    /// `<Amt Ccy="EUR">8.85</Amt>` with `<CdtDbtInd>`: signed, credits positive.
    static func amount(_ node: Node, location: String) throws(StatementError) -> (Money, String) {
        guard let amountNode = node.child("Amt"), let text = amountNode.value("") ?? Optional(amountNode.text.trimmingSpacesAndNewlines()), !text.isEmpty else {
            throw StatementError(location: location, message: "no <Amt>")
        }
        let amount = try StatementAmount.parse(text, decimalMark: ".", location: location + "/Amt")
        guard let indicator = node.value("CdtDbtInd"), indicator == "CRDT" || indicator == "DBIT" else {
            throw StatementError(location: location, message: "<CdtDbtInd> must be CRDT or DBIT")
        }
        return (indicator == "DBIT" ? Money(fen: -amount.fen) : amount, amountNode.attributes["Ccy"] ?? "")
    }

    /// `<Dt>2014-12-30</Dt>` or `<DtTm>2014-12-31T13:15:00+01:00</DtTm>` (the local date is taken).
    static func date(_ node: Node?, location: String) throws(StatementError) -> CivilDate? {
        guard let node else { return nil }
        guard let text = node.value("Dt") ?? node.value("DtTm").map({ String($0.prefix(10)) }) else { return nil }
        do {
            return try CivilDate.parse(text, field: location)
        } catch {
            throw StatementError(location: location, message: error.message)
        }
    }

    static func entry(_ node: Node, location: String) throws(StatementError) -> StatementEntry {
        let (amount, currency) = try self.amount(node, location: location)
        let details = node.at("NtryDtls")?.all("TxDtls") ?? []
        let first = details.first
        // The counterparty is the payer of a credit and the payee of a debit.
        let side = amount.fen >= 0 ? "Dbtr" : "Cdtr"
        let counterparty = Counterparty(
            name: first?.value("RltdPties/\(side)/Nm") ?? first?.value("RltdPties/\(side)/Pty/Nm"),
            account: first?.value("RltdPties/\(side)Acct/Id/IBAN") ?? first?.value("RltdPties/\(side)Acct/Id/Othr/Id"))
        var texts: [String] = []
        if let info = node.value("AddtlNtryInf") { texts.append(info) }
        for detail in details {
            for unstructured in detail.at("RmtInf")?.all("Ustrd") ?? [] {
                let text = unstructured.text.trimmingSpacesAndNewlines()
                if !text.isEmpty { texts.append(text) }
            }
            for structured in detail.at("RmtInf")?.all("Strd") ?? [] {
                if let reference = structured.value("CdtrRefInf/Ref") { texts.append(reference) }
            }
            if let info = detail.value("AddtlTxInf") { texts.append(info) }
        }
        let batchCount = node.value("NtryDtls/Btch/NbOfTxs").flatMap(Int.init) ?? (details.count > 1 ? details.count : nil)
        // The bank marks a reversal (RvslInd) or a returned payment (RtrInf, domain code RRTN).
        let flaggedReturn = node.value("RvslInd") == "true" || details.contains { $0.child("RtrInf") != nil }
            || node.value("BkTxCd/Domn/Fmly/SubFmlyCd") == "RRTN"
        var entry = StatementEntry(
            amount: amount, currency: currency,
            valueDate: try date(node.child("ValDt"), location: location + "/ValDt"),
            bookingDate: try date(node.child("BookgDt"), location: location + "/BookgDt"),
            reference: node.value("NtryRef") ?? first?.value("Refs/EndToEndId").flatMap { $0 == "NOTPROVIDED" ? nil : $0 } ?? first?.value("Refs/InstrId"),
            bankReference: node.value("AcctSvcrRef") ?? first?.value("Refs/AcctSvcrRef"),
            description: texts.joined(separator: " "), counterparty: counterparty, batchCount: batchCount, origin: location)
        entry.flaggedReturn = flaggedReturn
        return entry
    }
}
