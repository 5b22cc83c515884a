/// What can be done to a batch. Each action is allowed from a fixed set of states and leads to
/// one next state; `BatchLifecycle` is the whole table, decided without a database, and every
/// write applies it with `UPDATE … WHERE state = ANY(allowed)` inside the transaction that locks
/// the batch, so that two actions racing on one batch cannot both pass the check.
public enum BatchAction: String, Sendable, CaseIterable {
    case compute
    case exclude
    case submit
    case approve
    /// 退回: an approver sends a batch in 公示 back to the clerk (to recompute or exclude).
    case sendBack = "send_back"
    case export
    /// Reconciliation found every payable line paid.
    case settle
    /// Reconciliation saw a paid line returned (退汇): the batch is open for re-issue.
    case reopen
    case close
    case cancel

    /// The words a refusal uses ("cannot approve").
    public var phrase: String {
        switch self {
        case .compute: "compute"
        case .exclude: "exclude a line"
        case .submit: "submit for publicity"
        case .approve: "approve"
        case .sendBack: "send back (only during 公示)"
        case .export: "export"
        case .settle: "mark paid"
        case .reopen: "reopen for re-issue"
        case .close: "close (every payable line must be paid first)"
        case .cancel: "cancel (only before approval)"
        }
    }
}

public enum BatchLifecycle {
    /// The states an action may start from.
    public static func allowed(_ action: BatchAction) -> Set<BatchState> {
        switch action {
        case .compute: [.draft, .computed, .publicity]
        case .exclude: [.computed, .publicity]
        case .submit: [.computed]
        case .approve: [.publicity]
        case .sendBack: [.publicity]
        case .export: [.approved, .exported]
        case .settle: [.exported]
        case .reopen: [.paid]
        case .close: [.paid]
        case .cancel: [.draft, .computed, .publicity]
        }
    }

    /// The state after `action` from `state`, or a refusal naming both.
    public static func next(from state: BatchState, _ action: BatchAction, batch: Int64) throws(BatchError) -> BatchState {
        guard allowed(action).contains(state) else { throw .wrongState(batch: batch, state: state, action: action.phrase) }
        return switch action {
        case .compute: .computed
        // Excluding a line changes the line, not the batch's state.
        case .exclude: state
        case .submit: .publicity
        case .approve: .approved
        case .sendBack: .computed
        case .export: .exported
        case .settle: .paid
        case .reopen: .exported
        case .close: .closed
        case .cancel: .cancelled
        }
    }

    /// The allowed states as text, for `state = ANY($1)`.
    static func allowedNames(_ action: BatchAction) -> [String] {
        allowed(action).map(\.rawValue).sorted()
    }
}
