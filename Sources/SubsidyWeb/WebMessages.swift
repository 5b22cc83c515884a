import PostgresNIO
import SubsidyReconciliation
import SubsidyRules
import SubsidyStore

/// The words a refusal is shown in: Chinese for a Chinese-speaking clerk, with what to do; the
/// stores' English descriptions otherwise (they already say what to do).
enum WebMessages {
    static func describe(_ error: any Error, _ language: Language) -> String {
        let english: String
        switch error {
        case let error as BatchError:
            english = error.description
            if language == .zh, let chinese = chinese(error) { return chinese }
        case let error as InputError:
            english = error.description
        case let error as PSQLError:
            // The server's own message (a trigger's refusal, a constraint), not the driver's.
            english = error.serverInfo?[.message] ?? "the database refused the change"
            if language == .zh, error.serverInfo?[.sqlState] == "23505" { return "该记录已存在（重复）：" + english }
        default:
            english = "\(error)"
        }
        return english
    }

    static func chinese(_ error: BatchError) -> String? {
        switch error {
        case .notFound(let id): "批次 \(id) 不存在"
        case .wrongState(let id, let state, let action): "批次 \(id) 当前为「\(state.chineseName)」，不能执行此操作（\(action)）"
        case .missingRole(let login, let role): "用户 \(login) 没有「\(Strings.text("role." + role.rawValue, .zh))」角色，请联系管理员"
        case .sameUser(let login): "四眼原则：\(login) 测算了本批次，不能同时审批或退回（审批人不能与测算人相同），请由另一位审批人操作"
        case .publicityNotOver(let until): "公示期至 \(until)，公示期满后（次日起）方可审批"
        case .capExceeded(let recipient, let approved, let line, let cap):
            "\(recipient) 超过上限：已批准 \(approved.grouped) + 本批次 \(line.grouped) > 上限 \(cap.grouped)"
        case .stale(let recipient, _, _), .staleCap(let recipient, _, _): "批次已过时：\(recipient) 的已批准金额在测算后发生变化，请重新测算"
        case .noBudget(let program, let year): "\(program.chineseName) \(year) 年度尚未设置专项资金预算，请管理员在「管理」页面设置"
        case .budgetExceeded(let approved, let batch, let budget):
            "超出预算：已批准 \(approved.grouped) + 本批次 \(batch.grouped) > 预算 \(budget.grouped)"
        case .unknownRecipient(let uscc): "本批次没有收款人 \(uscc) 的明细，请核对统一社会信用代码"
        case .alreadyExcluded(let uscc): "\(uscc) 的明细已被剔除"
        case .missingAccount(let firms): "以下企业没有收款账户：\(firms.joined(separator: "、"))，请先登记收款账户"
        case .transitionLost: "批次在操作期间已被他人修改，未做任何更改，请刷新后重试"
        case .notRehearsal: "这是正式数据库：所有操作以服务器日期为准，不能指定日期"
        case .invalidInput(let input): "输入有误（\(input.field)）：\(input.message)"
        case .linePaid(let reference): "明细 \(reference) 已支付，收款人不能再更改"
        default: nil
        }
    }
}
