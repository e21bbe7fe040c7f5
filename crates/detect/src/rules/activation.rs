//! The CEL view of a transaction: the `tx` variable rules read.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `hash` | string | `0x` + 64 lower-case hex |
//! | `from`, `to` | string | lower-case `0x` address; `to` is `null` for a creation |
//! | `value` | double | wei sent (`tx.value > 100e18`) |
//! | `value_eth` | double | ether sent |
//! | `nonce`, `input_size`, `block`, `time`, `chain`, `gas_used` | int | `block` and `gas_used` are 0 while pending |
//! | `selector` | string | `0x` + 8 hex, `""` when there is none |
//! | `input` | bytes | calldata |
//! | `call` | string | decoded call: `plain`, `transfer`, `transfer_from`, `approve`, `set_approval_for_all`, `flash_loan`, `propose`, `other` |
//! | `pending`, `success` | bool | `success` is `true` while pending |
//! | `created` | string | created contract, or `null` |
//! | `events` | list of maps | `name`, `standard`, `address` (emitter) and the event's fields (amounts as double, addresses as strings) |
//! | `event_names` | list of strings | names of the decoded events |
//! | `transfers` | list of maps | ERC-20 transfers: `token`, `from`, `to`, `amount` (double) |
//! | `flagged` | bool | the sender or recipient is in the indicator index |
//! | `labels` | list of strings | labels of the indicators that flag the sender or recipient |
//! | `traced` | bool | a call tree was available (mined with traces, or simulated) |
//! | `calls` | list of maps | every frame of the tree: `kind` (`CALL`, `DELEGATECALL`, …), `from`, `to`, `selector`, `value` (double), `depth` (int), `ok` (bool: it and its ancestors succeeded); the top-level call alone without a tree |
//! | `selectors` | list of strings | selectors called anywhere in the tree |
//! | `flows` | list of maps | asset movements: `asset` (`eth` or the token address), `from`, `to`, `amount` (double) |
//! | `flash_loans` | list of maps | `lender`, `receiver`, `asset`, `amount` (double), `api` |
//! | `profit` | map | net gain of `tx.from` per asset (`eth` or token address → double, negative for a loss) |
//! | `contract_profit` | map | the same for the contract `tx.to` |
//! | `reentrant` | bool | a contract was called back while open, outside callbacks by design |
//! | `touched` | list of strings | contracts called anywhere in the tree |
//! | `pre_execution` | bool | a pending transaction judged on its simulation (`vigil-fork`): the tree, flows and `success` are what it would do if mined next |
//! | `predicted_loss` | map | for a simulated transaction, what protected contracts would lose per asset (`eth` or token address → double); empty otherwise |
//! | `abi_events` | list of maps | logs of contracts declared with `[[contract]]`, decoded by their ABI: `name`, `signature` (`Transfer(address,address,uint256)`), `address` (emitter), `args`, `texts` |
//! | `function` | map | the top-level call decoded by the ABI of the declared contract `tx.to`: `name`, `signature`, `selector`, `args`, `texts`; `null` when `tx.to` is not declared or the calldata does not fit its ABI |
//! | `gas_price` | double | wei per gas: a legacy transaction's price, else the effective price once mined (0 when unknown) |
//! | `max_fee_per_gas`, `max_priority_fee_per_gas` | double | EIP-1559 fees, wei (0 for a legacy transaction) |
//! | `gas_limit`, `index` | int | gas limit; position in the block (0 while pending) |
//! | `input_hex` | string | calldata as `0x` + lower-case hex |
//! | `emitters` | list of strings | contracts that emitted its logs, in log order (repeats kept) |
//!
//! `args` maps each argument by name (when the ABI names it) and by position (`e.args.value`,
//! `e.args[2]`): integers as double (exact below 2^53, within 1e-16 relative above), addresses
//! as lower-case `0x` strings, `bool` as bool, `bytes`/`bytesN` as lower-case `0x` hex
//! strings, `string` as string, arrays and tuples as lists. `texts` holds the same arguments
//! as exact text (integers in full decimal, arrays as `[a,b]`, tuples as `(a,b)`), for messages;
//! it is built only for rules that name `.texts`.
//!
//! Only the fields the candidate rules reference are built.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use alloy_dyn_abi::DynSolValue;
use alloy_primitives::{I256, U256};
use cel_interpreter::Value;
use cel_interpreter::objects::{Key, Map};
use vigil_core::{B256, EvmAddress};

use crate::abi::{Arg, ContractAbis};
use crate::detector::Context;
use crate::events::Event;
use crate::model::{Transaction, TxStatus};

/// The fields of `tx`, in bit order.
pub(crate) const FIELDS: [&str; 43] = [
    "hash",
    "from",
    "to",
    "value",
    "value_eth",
    "nonce",
    "selector",
    "input",
    "input_size",
    "call",
    "pending",
    "block",
    "time",
    "success",
    "created",
    "chain",
    "events",
    "event_names",
    "transfers",
    "flagged",
    "labels",
    "gas_used",
    "code_hash",
    "traced",
    "calls",
    "selectors",
    "flows",
    "flash_loans",
    "profit",
    "contract_profit",
    "reentrant",
    "touched",
    "pre_execution",
    "predicted_loss",
    "abi_events",
    "function",
    "gas_price",
    "max_fee_per_gas",
    "max_priority_fee_per_gas",
    "gas_limit",
    "index",
    "input_hex",
    "emitters",
];

/// A set of `tx` fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct FieldSet(u64);

impl FieldSet {
    pub(crate) const ALL: FieldSet = FieldSet((1u64 << FIELDS.len()) - 1);

    pub(crate) fn of(name: &str) -> Option<FieldSet> {
        FIELDS.iter().position(|f| *f == name).map(|i| FieldSet(1u64 << i))
    }

    /// Not a field: the `texts` of `abi_events` and `function`, built only for rules that
    /// name `.texts` (formatting every integer in full costs more than decoding it).
    pub(crate) const TEXTS: FieldSet = FieldSet(1u64 << 63);

    pub(crate) fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    pub(crate) fn contains(self, other: FieldSet) -> bool {
        self.0 & other.0 == other.0
    }

    fn has(self, i: usize) -> bool {
        self.0 & (1u64 << i) != 0
    }
}

static FIELD_KEYS: LazyLock<Vec<Key>> =
    LazyLock::new(|| FIELDS.iter().map(|f| Key::String(Arc::new((*f).to_owned()))).collect());

static EVENT_KEYS: LazyLock<HashMap<&'static str, Key, foldhash::fast::FixedState>> =
    LazyLock::new(|| {
        [
            "name",
            "standard",
            "address",
            "from",
            "to",
            "value",
            "owner",
            "spender",
            "approved",
            "operator",
            "token_id",
            "target",
            "initiator",
            "asset",
            "amount",
            "premium",
            "interest_rate_mode",
            "recipient",
            "token",
            "fee",
            "sender",
            "amount0_in",
            "amount1_in",
            "amount0_out",
            "amount1_out",
            "reserve0",
            "reserve1",
            "amount0",
            "amount1",
            "paid0",
            "paid1",
            "tick",
            "collateral_asset",
            "debt_asset",
            "user",
            "debt_to_cover",
            "liquidated_collateral_amount",
            "liquidator",
            "proposer",
            "proposal_id",
            "description",
            "targets",
            "actions",
            "kind",
            "selector",
            "depth",
            "ok",
            "lender",
            "receiver",
            "api",
            "signature",
            "args",
            "texts",
        ]
        .into_iter()
        .map(|k| (k, Key::String(Arc::new(k.to_owned()))))
        .collect()
    });

fn ek(name: &'static str) -> Key {
    EVENT_KEYS.get(name).cloned().unwrap_or_else(|| Key::String(Arc::new(name.to_owned())))
}

/// Lower-case `0x` hex of an address, as rules compare it.
pub(crate) fn address_str(a: &EvmAddress) -> String {
    format!("0x{}", alloy_primitives::hex::encode(a.0))
}

fn addr_v(a: &EvmAddress) -> Value {
    Value::String(Arc::new(address_str(a)))
}

fn hash_v(h: &B256) -> Value {
    Value::String(Arc::new(format!("0x{}", alloy_primitives::hex::encode(h.0))))
}

fn amount(v: &U256) -> Value {
    Value::Float(f64::from(*v))
}

fn signed(v: &I256) -> Value {
    let magnitude = f64::from(v.unsigned_abs());
    Value::Float(if v.is_negative() { -magnitude } else { magnitude })
}

fn int(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn map(entries: Vec<(Key, Value)>) -> Value {
    Value::Map(Map { map: Arc::new(entries.into_iter().collect()) })
}

fn event_value(emitter: &EvmAddress, e: &Event) -> Value {
    let mut m: Vec<(Key, Value)> = vec![
        (ek("name"), Value::String(Arc::new(e.name().to_owned()))),
        (ek("standard"), Value::String(Arc::new(e.standard().to_owned()))),
        (ek("address"), addr_v(emitter)),
    ];
    match e {
        Event::Erc20Transfer { from, to, value } => {
            m.extend([
                (ek("from"), addr_v(from)),
                (ek("to"), addr_v(to)),
                (ek("value"), amount(value)),
            ]);
        }
        Event::Erc721Transfer { from, to, token_id } => {
            m.extend([
                (ek("from"), addr_v(from)),
                (ek("to"), addr_v(to)),
                (ek("token_id"), amount(token_id)),
            ]);
        }
        Event::Erc20Approval { owner, spender, value } => {
            m.extend([
                (ek("owner"), addr_v(owner)),
                (ek("spender"), addr_v(spender)),
                (ek("value"), amount(value)),
            ]);
        }
        Event::Erc721Approval { owner, approved, token_id } => m.extend([
            (ek("owner"), addr_v(owner)),
            (ek("approved"), addr_v(approved)),
            (ek("token_id"), amount(token_id)),
        ]),
        Event::ApprovalForAll { owner, operator, approved } => m.extend([
            (ek("owner"), addr_v(owner)),
            (ek("operator"), addr_v(operator)),
            (ek("approved"), Value::Bool(*approved)),
        ]),
        Event::AaveV3FlashLoan {
            target,
            initiator,
            asset,
            amount: a,
            interest_rate_mode,
            premium,
            ..
        } => {
            m.extend([
                (ek("target"), addr_v(target)),
                (ek("initiator"), addr_v(initiator)),
                (ek("asset"), addr_v(asset)),
                (ek("amount"), amount(a)),
                (ek("interest_rate_mode"), Value::Int(i64::from(*interest_rate_mode))),
                (ek("premium"), amount(premium)),
            ]);
        }
        Event::AaveV2FlashLoan { target, initiator, asset, amount: a, premium, .. } => m.extend([
            (ek("target"), addr_v(target)),
            (ek("initiator"), addr_v(initiator)),
            (ek("asset"), addr_v(asset)),
            (ek("amount"), amount(a)),
            (ek("premium"), amount(premium)),
        ]),
        Event::BalancerFlashLoan { recipient, token, amount: a, fee } => m.extend([
            (ek("recipient"), addr_v(recipient)),
            (ek("token"), addr_v(token)),
            (ek("amount"), amount(a)),
            (ek("fee"), amount(fee)),
        ]),
        Event::UniswapV2Swap { sender, amount0_in, amount1_in, amount0_out, amount1_out, to } => m
            .extend([
                (ek("sender"), addr_v(sender)),
                (ek("to"), addr_v(to)),
                (ek("amount0_in"), amount(amount0_in)),
                (ek("amount1_in"), amount(amount1_in)),
                (ek("amount0_out"), amount(amount0_out)),
                (ek("amount1_out"), amount(amount1_out)),
            ]),
        Event::UniswapV2Sync { reserve0, reserve1 } => {
            m.extend([(ek("reserve0"), amount(reserve0)), (ek("reserve1"), amount(reserve1))]);
        }
        Event::UniswapV3Swap { sender, recipient, amount0, amount1, tick, .. } => m.extend([
            (ek("sender"), addr_v(sender)),
            (ek("recipient"), addr_v(recipient)),
            (ek("amount0"), signed(amount0)),
            (ek("amount1"), signed(amount1)),
            (ek("tick"), Value::Int(i64::from(*tick))),
        ]),
        Event::UniswapV3Flash { sender, recipient, amount0, amount1, paid0, paid1 } => m.extend([
            (ek("sender"), addr_v(sender)),
            (ek("recipient"), addr_v(recipient)),
            (ek("amount0"), amount(amount0)),
            (ek("amount1"), amount(amount1)),
            (ek("paid0"), amount(paid0)),
            (ek("paid1"), amount(paid1)),
        ]),
        Event::AaveV3LiquidationCall {
            collateral_asset,
            debt_asset,
            user,
            debt_to_cover,
            liquidated_collateral_amount,
            liquidator,
            ..
        } => m.extend([
            (ek("collateral_asset"), addr_v(collateral_asset)),
            (ek("debt_asset"), addr_v(debt_asset)),
            (ek("user"), addr_v(user)),
            (ek("debt_to_cover"), amount(debt_to_cover)),
            (ek("liquidated_collateral_amount"), amount(liquidated_collateral_amount)),
            (ek("liquidator"), addr_v(liquidator)),
        ]),
        Event::ProposalCreated(p) => m.extend([
            (ek("proposer"), addr_v(&p.proposer)),
            (
                ek("proposal_id"),
                Value::String(Arc::new(p.id.map(|i| format!("{i:#x}")).unwrap_or_default())),
            ),
            (ek("description"), Value::String(Arc::new(p.description.clone()))),
            (
                ek("targets"),
                Value::List(Arc::new(p.actions.iter().map(|a| addr_v(&a.target)).collect())),
            ),
            (ek("actions"), int(p.actions.len() as u64)),
        ]),
    }
    map(m)
}

fn hex_v(bytes: &[u8]) -> Value {
    Value::String(Arc::new(format!("0x{}", alloy_primitives::hex::encode(bytes))))
}

/// An ABI-decoded value as rules read it.
fn sol_value(v: &DynSolValue) -> Value {
    match v {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(i, _) => signed(i),
        DynSolValue::Uint(u, _) => amount(u),
        DynSolValue::FixedBytes(word, size) => hex_v(word.get(..*size).unwrap_or(&word[..])),
        DynSolValue::Address(a) => Value::String(Arc::new(format!("{a:#x}"))),
        DynSolValue::Function(f) => hex_v(f.as_slice()),
        DynSolValue::Bytes(b) => hex_v(b),
        DynSolValue::String(s) => Value::String(Arc::new(s.clone())),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::List(Arc::new(items.iter().map(sol_value).collect()))
        }
    }
}

/// An ABI-decoded value as exact text.
fn sol_text(v: &DynSolValue) -> String {
    let join = |items: &[DynSolValue]| items.iter().map(sol_text).collect::<Vec<_>>().join(",");
    match v {
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            format!("[{}]", join(items))
        }
        DynSolValue::Tuple(items) => format!("({})", join(items)),
        other => display(&sol_value(other)),
    }
}

/// Arguments by position and, when named, by name, as values (`text` false) or exact text.
fn args_v(args: &[Arg], text: bool) -> Value {
    let mut m: HashMap<Key, Value> = HashMap::with_capacity(args.len() * 2);
    for (i, (name, v)) in args.iter().enumerate() {
        let v = if text { Value::String(Arc::new(sol_text(v))) } else { sol_value(v) };
        if !name.is_empty() {
            m.insert(Key::String(Arc::new(name.clone())), v.clone());
        }
        m.insert(Key::Int(i64::try_from(i).unwrap_or(i64::MAX)), v);
    }
    Value::Map(Map { map: Arc::new(m) })
}

fn abi_events(tx: &Transaction, abis: &ContractAbis, texts: bool) -> Value {
    if abis.is_empty() {
        return Value::List(Arc::new(Vec::new()));
    }
    Value::List(Arc::new(
        tx.logs
            .iter()
            .filter_map(|l| abis.decode_log(&l.address, &l.topics, &l.data))
            .map(|e| {
                let mut m = vec![
                    (ek("name"), Value::String(Arc::new(e.name))),
                    (ek("signature"), Value::String(Arc::new(e.signature))),
                    (ek("address"), addr_v(&e.address)),
                    (ek("args"), args_v(&e.args, false)),
                ];
                if texts {
                    m.push((ek("texts"), args_v(&e.args, true)));
                }
                map(m)
            })
            .collect(),
    ))
}

fn function(tx: &Transaction, abis: &ContractAbis, texts: bool) -> Value {
    let Some(call) = tx.to.as_ref().and_then(|to| abis.decode_call(to, &tx.input)) else {
        return Value::Null;
    };
    let mut m = vec![
        (ek("name"), Value::String(Arc::new(call.name))),
        (ek("signature"), Value::String(Arc::new(call.signature))),
        (ek("selector"), hex_v(&call.selector)),
        (ek("args"), args_v(&call.args, false)),
    ];
    if texts {
        m.push((ek("texts"), args_v(&call.args, true)));
    }
    map(m)
}

fn wei(v: u128) -> Value {
    Value::Float(v as f64)
}

/// Net gain per asset of `who` (negative for a loss), keyed by `eth` or the token address.
fn profit_map(cx: &Context<'_>, who: &EvmAddress) -> Value {
    map(cx
        .effects
        .deltas_of(who)
        .map(|(asset, d)| (Key::String(Arc::new(asset.key())), signed(&d.net())))
        .collect())
}

/// What protected contracts would lose per asset, for a simulated transaction.
fn predicted_loss(tx: &Transaction, cx: &Context<'_>) -> Value {
    if !tx.is_simulated() {
        return map(Vec::new());
    }
    let mut losses: std::collections::BTreeMap<String, U256> = std::collections::BTreeMap::new();
    for holder in cx.protected.addresses() {
        for (asset, d) in cx.effects.deltas_of(holder) {
            if !d.loss().is_zero() {
                let total = losses.entry(asset.key()).or_default();
                *total = total.saturating_add(d.loss());
            }
        }
    }
    map(losses.into_iter().map(|(k, v)| (Key::String(Arc::new(k)), amount(&v))).collect())
}

/// Builds the `tx` value with the fields in `fields`; `abis` decodes `abi_events` and
/// `function`.
pub(crate) fn tx_value(
    tx: &Transaction,
    fields: FieldSet,
    cx: &Context<'_>,
    abis: &ContractAbis,
) -> Value {
    let mut m: HashMap<Key, Value> = HashMap::with_capacity(fields.0.count_ones() as usize);
    for (i, key) in FIELD_KEYS.iter().enumerate() {
        if !fields.has(i) {
            continue;
        }
        let v = match FIELDS[i] {
            "hash" => hash_v(&tx.hash),
            "from" => addr_v(&tx.from),
            "to" => tx.to.as_ref().map_or(Value::Null, addr_v),
            "value" => amount(&tx.value),
            "value_eth" => Value::Float(f64::from(tx.value) / 1e18),
            "nonce" => int(tx.nonce),
            "selector" => {
                Value::String(Arc::new(tx.selector().map(|s| s.to_string()).unwrap_or_default()))
            }
            "input" => Value::Bytes(Arc::new(tx.input.to_vec())),
            "input_size" => int(tx.input.len() as u64),
            "call" => Value::String(Arc::new(tx.call.name().to_owned())),
            "pending" => Value::Bool(tx.is_pending()),
            "block" => int(tx.block().map_or(0, |b| b.number)),
            "time" => int(tx.time()),
            "success" => Value::Bool(tx.succeeded()),
            "created" => tx.created.as_ref().map_or(Value::Null, |c| addr_v(&c.address)),
            "chain" => int(tx.chain.0),
            "events" => {
                Value::List(Arc::new(tx.events().map(|(a, e)| event_value(&a, e)).collect()))
            }
            "event_names" => {
                let mut names: Vec<&str> = tx.events().map(|(_, e)| e.name()).collect();
                names.sort_unstable();
                names.dedup();
                Value::List(Arc::new(names.into_iter().map(Value::from).collect()))
            }
            "transfers" => Value::List(Arc::new(
                tx.events()
                    .filter_map(|(token, e)| match e {
                        Event::Erc20Transfer { from, to, value } => Some(map(vec![
                            (ek("token"), addr_v(&token)),
                            (ek("from"), addr_v(from)),
                            (ek("to"), addr_v(to)),
                            (ek("amount"), amount(value)),
                        ])),
                        _ => None,
                    })
                    .collect(),
            )),
            "flagged" => Value::Bool(
                cx.indicators.contains_address(tx.chain, &tx.from)
                    || tx.to.is_some_and(|to| cx.indicators.contains_address(tx.chain, &to)),
            ),
            "labels" => {
                let mut labels: Vec<&str> = cx
                    .indicators
                    .match_address(tx.chain, &tx.from)
                    .chain(tx.to.iter().flat_map(|to| cx.indicators.match_address(tx.chain, to)))
                    .filter_map(|h| h.label)
                    .collect();
                labels.sort_unstable();
                labels.dedup();
                Value::List(Arc::new(labels.into_iter().map(Value::from).collect()))
            }
            "gas_used" => int(match tx.status {
                TxStatus::Mined { gas_used, .. } => gas_used,
                TxStatus::Pending { .. } => 0,
            }),
            "code_hash" => {
                tx.created.as_ref().and_then(|c| c.code_hash).map_or(Value::Null, |h| hash_v(&h))
            }
            "traced" => Value::Bool(cx.effects.traced),
            "calls" => Value::List(Arc::new(
                cx.effects
                    .frames
                    .iter()
                    .map(|f| {
                        map(vec![
                            (ek("kind"), Value::from(f.kind.as_str())),
                            (ek("from"), addr_v(&f.from)),
                            (ek("to"), f.to.as_ref().map_or(Value::Null, addr_v)),
                            (
                                ek("selector"),
                                Value::String(Arc::new(
                                    f.selector.map(|s| s.to_string()).unwrap_or_default(),
                                )),
                            ),
                            (ek("value"), amount(&f.value)),
                            (ek("depth"), int(f.depth as u64)),
                            (ek("ok"), Value::Bool(f.ok)),
                        ])
                    })
                    .collect(),
            )),
            "selectors" => Value::List(Arc::new(
                cx.effects
                    .selectors
                    .iter()
                    .map(|s| Value::String(Arc::new(s.to_string())))
                    .collect(),
            )),
            "flows" => Value::List(Arc::new(
                cx.effects
                    .movements
                    .iter()
                    .map(|m| {
                        map(vec![
                            (ek("asset"), Value::String(Arc::new(m.asset.key()))),
                            (ek("from"), addr_v(&m.from)),
                            (ek("to"), addr_v(&m.to)),
                            (ek("amount"), amount(&m.amount)),
                        ])
                    })
                    .collect(),
            )),
            "flash_loans" => Value::List(Arc::new(
                cx.effects
                    .flash_loans
                    .iter()
                    .map(|l| {
                        map(vec![
                            (ek("lender"), addr_v(&l.lender)),
                            (ek("receiver"), addr_v(&l.receiver)),
                            (
                                ek("asset"),
                                Value::String(Arc::new(
                                    l.asset.map(|a| a.key()).unwrap_or_default(),
                                )),
                            ),
                            (ek("amount"), amount(&l.amount)),
                            (ek("api"), Value::from(l.api)),
                        ])
                    })
                    .collect(),
            )),
            "profit" => profit_map(cx, &tx.from),
            "contract_profit" => match &tx.to {
                Some(to) => profit_map(cx, to),
                None => map(Vec::new()),
            },
            "reentrant" => Value::Bool(
                cx.effects
                    .reentries
                    .iter()
                    .any(|r| r.class == crate::effects::ReentryClass::Unexpected),
            ),
            "touched" => Value::List(Arc::new(cx.effects.touched.iter().map(addr_v).collect())),
            "pre_execution" => Value::Bool(tx.is_simulated()),
            "predicted_loss" => predicted_loss(tx, cx),
            "abi_events" => abi_events(tx, abis, fields.contains(FieldSet::TEXTS)),
            "function" => function(tx, abis, fields.contains(FieldSet::TEXTS)),
            "gas_price" => wei(tx.gas.price),
            "max_fee_per_gas" => wei(tx.gas.max_fee_per_gas.unwrap_or_default()),
            "max_priority_fee_per_gas" => wei(tx.gas.max_priority_fee_per_gas.unwrap_or_default()),
            "gas_limit" => int(tx.gas.limit),
            "index" => int(match tx.status {
                TxStatus::Mined { index, .. } => index,
                TxStatus::Pending { .. } => 0,
            }),
            "input_hex" => hex_v(&tx.input),
            "emitters" => {
                Value::List(Arc::new(tx.logs.iter().map(|l| addr_v(&l.address)).collect()))
            }
            _ => Value::Null,
        };
        m.insert(key.clone(), v);
    }
    Value::Map(Map { map: Arc::new(m) })
}

/// A CEL value as text, for description templates.
pub(crate) fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e21 {
                format!("{f:.0}")
            } else {
                f.to_string()
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Bytes(b) => format!("0x{}", alloy_primitives::hex::encode(b.as_slice())),
        Value::List(items) => {
            format!("[{}]", items.iter().map(display).collect::<Vec<_>>().join(", "))
        }
        Value::Map(m) => {
            let mut parts: Vec<String> = m
                .map
                .iter()
                .map(|(k, v)| format!("{}: {}", display(&Value::from(k)), display(v)))
                .collect();
            parts.sort();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Function(name, _) => name.to_string(),
    }
}
