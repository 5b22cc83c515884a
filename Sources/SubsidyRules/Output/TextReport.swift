extension CalculationResult {
    /// A plain-text report for a terminal: one block per recipient with its items and every
    /// explanation step, then the excluded items. Headings are in Chinese and English.
    public var textReport: String {
        var lines: [String] = []
        lines.append("\(program.chineseName) \(program.rawValue) · 补贴年度 Year \(year) · 政策版本 Policy \(policyVersion)")
        lines.append("合计 Total: \(total.grouped)    对象 Recipients: \(awards.count)    剔除 Excluded: \(excluded.count)")
        for award in awards {
            lines.append("")
            let name = award.recipientName.isEmpty ? "" : " \(award.recipientName)"
            lines.append("■ \(award.recipient)\(name)    金额 Amount: \(award.amount.grouped)")
            for item in award.items {
                lines.append("  · \(item.kind.rawValue) \(item.id): \(item.amount.grouped)")
            }
            lines.append("  说明 Explanation:")
            for step in award.explanation {
                let scope = [step.item, step.record].compactMap { $0 }.joined(separator: "/")
                lines.append("    [\(step.rule)]\(scope.isEmpty ? "" : " \(scope)") \(step.text)")
                if !step.clause.isEmpty { lines.append("        依据 Clause: \(step.clause)") }
            }
        }
        if !excluded.isEmpty {
            lines.append("")
            lines.append("剔除项目 Excluded items:")
            for exclusion in excluded {
                lines.append("  - \(exclusion.kind.rawValue) \(exclusion.id): \(exclusion.reasonZh) / \(exclusion.reason)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
