//! revm-inspectors' call arena → Vigil's call tree, the same shape a geth `callTracer` with
//! `withLog: true` gives for a mined transaction.

use alloy_primitives::{Address, Bytes};
use revm_inspectors::tracing::types::{CallKind as ArenaKind, CallTraceNode};
use vigil_core::EvmAddress;
use vigil_detect::model::Log;
use vigil_detect::trace::{CallFrame, CallKind, CallTrace};

pub(crate) fn ev(a: Address) -> EvmAddress {
    EvmAddress(a.into_array())
}

fn kind(k: ArenaKind) -> CallKind {
    match k {
        ArenaKind::Call | ArenaKind::AuthCall => CallKind::Call,
        ArenaKind::StaticCall => CallKind::StaticCall,
        ArenaKind::CallCode => CallKind::CallCode,
        ArenaKind::DelegateCall => CallKind::DelegateCall,
        ArenaKind::Create => CallKind::Create,
        ArenaKind::Create2 => CallKind::Create2,
    }
}

/// Geth's words for a failed frame.
fn error_text(node: &CallTraceNode) -> Option<String> {
    use revm::interpreter::InstructionResult as R;
    let status = node.trace.status?;
    if status.is_ok() {
        return None;
    }
    Some(
        match status {
            R::Revert => "execution reverted",
            R::OutOfGas
            | R::MemoryOOG
            | R::MemoryLimitOOG
            | R::PrecompileOOG
            | R::InvalidOperandOOG => "out of gas",
            R::OpcodeNotFound | R::InvalidFEOpcode => "invalid opcode",
            R::StackOverflow => "stack overflow",
            R::StackUnderflow => "stack underflow",
            R::CallTooDeep => "max call depth exceeded",
            R::OutOfFunds => "insufficient balance for transfer",
            R::CreateCollision => "contract address collision",
            R::StateChangeDuringStaticCall => "write protection",
            R::CreateContractSizeLimit => "max code size exceeded",
            R::InvalidJump => "invalid jump destination",
            _ => return Some(format!("{status:?}")),
        }
        .to_string(),
    )
}

fn frame(nodes: &[CallTraceNode], idx: usize) -> CallFrame {
    let node = &nodes[idx];
    let t = &node.trace;
    let kind = kind(t.kind);
    let failed = t.is_error();
    // A creation that failed has no contract.
    let to = (!(kind.is_create() && failed)).then(|| ev(t.address));
    let mut f = CallFrame::new(kind, ev(t.caller), to, t.data.clone());
    f.value = t.value;
    f.output = Some(t.output.clone());
    f.gas = Some(t.gas_limit);
    f.gas_used = Some(t.gas_used);
    f.error = error_text(node);
    if t.is_revert() {
        f.revert_reason = alloy_sol_types::decode_revert_reason(&t.output);
    }
    if !failed {
        f.logs = node
            .logs
            .iter()
            .map(|l| {
                Log::new(
                    ev(l.address),
                    l.raw_log.topics().iter().map(|t| vigil_core::B256(t.0)).collect(),
                    l.raw_log.data.clone(),
                )
            })
            .collect();
    }
    // Trees nest up to 1,024 calls: grow the stack on the heap rather than overflow.
    f.calls = node
        .children
        .iter()
        .map(|&c| stacker::maybe_grow(64 * 1024, 1024 * 1024, || frame(nodes, c)))
        .collect();
    if let (Some(from), Some(target)) = (t.selfdestruct_address, t.selfdestruct_refund_target) {
        let mut sd =
            CallFrame::new(CallKind::SelfDestruct, ev(from), Some(ev(target)), Bytes::new());
        sd.value = t.selfdestruct_transferred_value.unwrap_or_default();
        f.calls.push(sd);
    }
    f
}

/// The call tree of an arena (its first node is the top-level call).
pub(crate) fn call_trace(nodes: &[CallTraceNode]) -> Option<CallTrace> {
    (!nodes.is_empty()).then(|| CallTrace::new(frame(nodes, 0), true))
}
