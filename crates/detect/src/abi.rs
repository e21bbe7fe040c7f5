//! Contracts declared with their JSON ABI (`[[contract]]` in rule files): their calls and
//! events decoded by that ABI with `alloy-dyn-abi`, for rules that read `tx.function` and
//! `tx.abi_events`.
//!
//! Only logs emitted by a declared contract, and only the top-level call of a transaction sent
//! to one, are decoded; decoding never panics (calldata or a log that does not fit its ABI
//! entry stays undecoded). Types are resolved once, when the ABI is loaded.

use std::collections::HashMap;

use alloy_dyn_abi::{DynSolEvent, DynSolType, DynSolValue, Specifier};
use alloy_json_abi::JsonAbi;
use alloy_primitives::B256 as AlloyB256;
use vigil_core::{B256, EvmAddress};

/// One function of an ABI, with its argument types resolved.
#[derive(Debug)]
struct FunctionAbi {
    name: String,
    signature: String,
    selector: [u8; 4],
    params: Vec<String>,
    inputs: DynSolType,
}

/// One event of an ABI, with its argument types resolved.
#[derive(Debug)]
struct EventAbi {
    name: String,
    signature: String,
    /// Parameter names in declaration order, and whether each is indexed.
    params: Vec<(String, bool)>,
    resolved: DynSolEvent,
}

/// The decoded functions and events of one contract.
#[derive(Debug, Default)]
struct ContractAbi {
    functions: HashMap<[u8; 4], FunctionAbi>,
    /// By `topic0`; several events may share one (ERC-20 vs ERC-721 `Transfer`, which differ
    /// in how many arguments are indexed).
    events: HashMap<[u8; 32], Vec<EventAbi>>,
}

/// A decoded argument: its name (empty when the ABI names none) and value.
pub type Arg = (String, DynSolValue);

/// A call decoded through a declared contract's ABI.
#[derive(Clone, PartialEq, Debug)]
pub struct DecodedCall {
    /// The function's name, e.g. `transfer`.
    pub name: String,
    /// Its canonical signature, e.g. `transfer(address,uint256)`.
    pub signature: String,
    /// Its 4-byte selector.
    pub selector: [u8; 4],
    /// The arguments, in order.
    pub args: Vec<Arg>,
}

/// A log decoded through its emitter's ABI.
#[derive(Clone, PartialEq, Debug)]
pub struct DecodedEvent {
    /// The emitter.
    pub address: EvmAddress,
    /// The event's name, e.g. `Transfer`.
    pub name: String,
    /// Its canonical signature, e.g. `Transfer(address,address,uint256)`.
    pub signature: String,
    /// The arguments in declaration order (indexed and not).
    pub args: Vec<Arg>,
}

/// The declared contracts, by address. Declaring one address twice merges its ABIs (the
/// first declaration of a selector or event wins).
#[derive(Debug, Default)]
pub struct ContractAbis {
    by_address: HashMap<EvmAddress, ContractAbi>,
}

impl ContractAbis {
    /// Whether no contract is declared.
    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }

    /// The declared addresses.
    pub fn addresses(&self) -> impl Iterator<Item = &EvmAddress> {
        self.by_address.keys()
    }

    /// Declares `address` with the JSON ABI `json` (an array of ABI items, or an object with
    /// an `abi` array, as compilers and explorers write them).
    pub fn declare(&mut self, address: EvmAddress, json: &str) -> Result<(), String> {
        let abi = parse_abi(json)?;
        let contract = self.by_address.entry(address).or_default();
        for f in abi.functions() {
            let types: Result<Vec<DynSolType>, _> = f.inputs.iter().map(|p| p.resolve()).collect();
            let types = types.map_err(|e| format!("function {}: {e}", f.name))?;
            let selector = f.selector().0;
            contract.functions.entry(selector).or_insert_with(|| FunctionAbi {
                name: f.name.clone(),
                signature: f.signature(),
                selector,
                params: f.inputs.iter().map(|p| p.name.clone()).collect(),
                inputs: DynSolType::Tuple(types),
            });
        }
        for e in abi.events() {
            let resolved = e.resolve().map_err(|err| format!("event {}: {err}", e.name))?;
            let signature = e.signature();
            let entry = contract.events.entry(e.selector().0).or_default();
            let params: Vec<(String, bool)> =
                e.inputs.iter().map(|p| (p.name.clone(), p.indexed)).collect();
            let indexed = params.iter().filter(|p| p.1).count();
            if !entry.iter().any(|x| x.resolved.indexed().len() == indexed) {
                entry.push(EventAbi { name: e.name.clone(), signature, params, resolved });
            }
        }
        Ok(())
    }

    /// The top-level call of a transaction to `to` with calldata `input`, when `to` is
    /// declared and its ABI has the selector and the arguments decode.
    pub fn decode_call(&self, to: &EvmAddress, input: &[u8]) -> Option<DecodedCall> {
        let contract = self.by_address.get(to)?;
        let selector: [u8; 4] = input.get(..4)?.try_into().ok()?;
        let f = contract.functions.get(&selector)?;
        let values = match f.inputs.abi_decode_params(input.get(4..)?) {
            Ok(DynSolValue::Tuple(values)) => values,
            Ok(other) => vec![other],
            Err(_) => return None,
        };
        Some(DecodedCall {
            name: f.name.clone(),
            signature: f.signature.clone(),
            selector: f.selector,
            args: f.params.iter().cloned().zip(values).collect(),
        })
    }

    /// A log of `address`, when `address` is declared and its ABI has an event that fits.
    pub fn decode_log(
        &self,
        address: &EvmAddress,
        topics: &[B256],
        data: &[u8],
    ) -> Option<DecodedEvent> {
        let contract = self.by_address.get(address)?;
        let topic0 = topics.first()?;
        let candidates = contract.events.get(&topic0.0)?;
        for e in candidates {
            let Ok(decoded) =
                e.resolved.decode_log_parts(topics.iter().map(|t| AlloyB256::from(t.0)), data)
            else {
                continue;
            };
            let mut indexed = decoded.indexed.into_iter();
            let mut body = decoded.body.into_iter();
            let mut args = Vec::with_capacity(e.params.len());
            for (name, is_indexed) in &e.params {
                let v = if *is_indexed { indexed.next() } else { body.next() };
                args.push((name.clone(), v?));
            }
            return Some(DecodedEvent {
                address: *address,
                name: e.name.clone(),
                signature: e.signature.clone(),
                args,
            });
        }
        None
    }
}

/// Parses a JSON ABI: an array of items, or an artifact object with an `abi` field.
pub fn parse_abi(json: &str) -> Result<JsonAbi, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("the ABI is not JSON: {e}"))?;
    let items = match value {
        serde_json::Value::Object(mut o) => {
            o.remove("abi").ok_or("an ABI object must have an `abi` array of items")?
        }
        other => other,
    };
    serde_json::from_value(items).map_err(|e| format!("not a JSON ABI: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, U256};

    const ERC20: &str = r#"[
        {"type":"function","name":"transfer","stateMutability":"nonpayable",
         "inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],
         "outputs":[{"name":"","type":"bool"}]},
        {"type":"event","name":"Transfer","anonymous":false,"inputs":[
          {"name":"from","type":"address","indexed":true},
          {"name":"to","type":"address","indexed":true},
          {"name":"value","type":"uint256","indexed":false}]}
    ]"#;

    #[test]
    fn calls_and_logs_decode_through_the_declared_abi() {
        let token = EvmAddress([7; 20]);
        let mut abis = ContractAbis::default();
        abis.declare(token, ERC20).unwrap();

        let mut input = vec![0xa9, 0x05, 0x9c, 0xbb];
        input.extend_from_slice(&[0; 12]);
        input.extend_from_slice(&[9; 20]);
        input.extend_from_slice(&U256::from(5000u64).to_be_bytes::<32>());
        let call = abis.decode_call(&token, &input).unwrap();
        assert_eq!(call.signature, "transfer(address,uint256)");
        assert_eq!(call.args[0], ("to".into(), DynSolValue::Address(Address::from([9; 20]))));
        assert_eq!(call.args[1].1, DynSolValue::Uint(U256::from(5000u64), 256));
        // Another contract, short calldata, an unknown selector: not decoded.
        assert!(abis.decode_call(&EvmAddress([8; 20]), &input).is_none());
        assert!(abis.decode_call(&token, &input[..30]).is_none());
        assert!(abis.decode_call(&token, &[1, 2, 3, 4]).is_none());

        let topic0 = B256(alloy_primitives::keccak256("Transfer(address,address,uint256)").0);
        let mut from = [0u8; 32];
        from[12..].copy_from_slice(&[1; 20]);
        let mut to = [0u8; 32];
        to[12..].copy_from_slice(&[2; 20]);
        let data = U256::from(77u64).to_be_bytes::<32>();
        let e = abis.decode_log(&token, &[topic0, B256(from), B256(to)], &data).unwrap();
        assert_eq!(e.name, "Transfer");
        assert_eq!(e.args[2], ("value".into(), DynSolValue::Uint(U256::from(77u64), 256)));
        // Four topics do not fit this ABI's Transfer.
        assert!(abis.decode_log(&token, &[topic0, B256(from), B256(to), B256(to)], &[]).is_none());
        assert!(abis.decode_log(&token, &[topic0], &[]).is_none());
        assert!(abis.decode_log(&token, &[], &[]).is_none());
    }

    #[test]
    fn bad_abis_are_refused() {
        let mut abis = ContractAbis::default();
        assert!(abis.declare(EvmAddress([1; 20]), "{").is_err());
        assert!(abis.declare(EvmAddress([1; 20]), "{\"x\": 1}").is_err());
        assert!(abis.declare(EvmAddress([1; 20]), "[{\"type\":\"function\"}]").is_err());
        assert!(abis.declare(EvmAddress([1; 20]), &format!("{{\"abi\": {ERC20}}}")).is_ok());
    }
}
