//! User rules in CEL (the Common Expression Language), loaded from TOML rule files:
//!
//! ```toml
//! [lists]
//! watchlist = ["0x098B716B8Aaf21512996dC57EB0615e2383E2f96"]
//!
//! [[rule]]
//! name = "large-transfer-to-watchlist"
//! expression = "tx.value > 100e18 && tx.to in watchlist"
//! severity = "high"                 # info | low | medium | high | critical (default medium)
//! kind = "suspicious"               # exploit | suspicious | scam | degraded | info (default suspicious)
//! confidence = 80                   # 0–100 (default 50)
//! description = "{{tx.from}} sent {{tx.value_eth}} ETH to watched {{tx.to}}"
//! incident = "tx.to"                # optional CEL: findings with one key inside the cooldown are one alert
//! metadata = { amount = "tx.value_eth" }  # optional: key → CEL, evaluated when it fires, into the alert's metadata
//!
//! [[contract]]                       # decode this contract's calls and logs by its JSON ABI
//! address = "0xA0b86991c6218b36c1d19d4a2e9eB0cE3606eB48"
//! abi = "usdc.abi.json"              # a file beside the rule file, or inline: abi_json = '[…]'
//!
//! [[rule]]
//! name = "large-usdc-transfer"
//! expression = "tx.abi_events.exists(e, e.address == '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' && e.signature == 'Transfer(address,address,uint256)' && e.args.value > 1e12)"
//! metadata = { value = "tx.abi_events.filter(e, e.signature == 'Transfer(address,address,uint256)')[0].args.value" }
//! ```
//!
//! The `tx` variable is described in [`activation`]. Lists are sets (`x in list` is a hash
//! lookup) of strings, integers or booleans; hex strings in lists and expressions are
//! lower-cased (a mixed-case address must carry a correct EIP-55 checksum) to match `tx`.
//! Description templates hold CEL expressions between `{{` and `}}`. Besides CEL's built-ins,
//! `s.lower()` lower-cases a string (for case-insensitive comparisons).
//!
//! Declared contracts are shared by every rule file (declaring an address twice merges its
//! ABIs); only rules that read `tx.abi_events` or `tx.function` pay for the decoding, and only
//! logs of declared contracts and calls to them are decoded. ABI files are read by the
//! caller of [`RuleSet::load_with`]; this crate does no I/O.
//!
//! A bad rule file fails at load with the file, the rule's name and the error. At run time a
//! rule that fails to evaluate (say, a type error on an unusual transaction) counts as not
//! matching, and the failure is counted ([`RuleSet::evaluation_errors`]).
//!
//! Speed: evaluating every rule on every transaction costs about a microsecond per rule, so
//! each rule is indexed by a condition it cannot be true without (its recipient, selector,
//! sender, an event, or a minimum value, found by [`analyze`]); per transaction only the rules
//! whose condition holds are evaluated, over one `tx` value built with just the fields they read.

pub mod activation;
mod analyze;
mod template;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use cel_interpreter::extractors::This;
use cel_interpreter::objects::{Key, Map};
use cel_interpreter::{Context as CelContext, Value};
use cel_parser::ast::IdedExpr;
use serde::Deserialize;
use vigil_core::{AlertKind, EvmAddress, Severity};

use self::activation::{FieldSet, tx_value};
use self::analyze::{
    Atom, ListValues, check_unary_runs, cost, normalise_hex, prefilter_keys, references,
};
use self::template::Template;
use crate::abi::ContractAbis;
use crate::detector::{Context, Detector, Finding};
use crate::model::Transaction;

/// Why rule files could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The file is not valid TOML of the rule-file shape.
    #[error("rule file {file}: {message}")]
    File {
        /// The file.
        file: String,
        /// The TOML error.
        message: String,
    },
    /// One rule is invalid.
    #[error("rule file {file}, rule {rule:?}: {message}")]
    Rule {
        /// The file.
        file: String,
        /// The rule's name.
        rule: String,
        /// What is wrong (a CEL parse error, an unknown name, a bad field).
        message: String,
    },
    /// Two rules share a name.
    #[error("rule {rule:?} is defined twice: in {first} and in {second}")]
    DuplicateRule {
        /// The name.
        rule: String,
        /// Where it was first defined.
        first: String,
        /// Where it was defined again.
        second: String,
    },
    /// A `[[contract]]` declaration is invalid or its ABI could not be read.
    #[error("rule file {file}, contract {address:?}: {message}")]
    Contract {
        /// The file.
        file: String,
        /// The contract's address as written.
        address: String,
        /// What is wrong.
        message: String,
    },
    /// A list is invalid or defined twice.
    #[error("rule file {file}, list {list:?}: {message}")]
    List {
        /// The file.
        file: String,
        /// The list.
        list: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    lists: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    rule: Vec<RuleSpec>,
    #[serde(default)]
    contract: Vec<ContractSpec>,
}

/// A `[[contract]]`: an address and its JSON ABI, from a file or inline.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractSpec {
    address: String,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    abi: Option<String>,
    #[serde(default)]
    abi_json: Option<String>,
}

fn default_severity() -> Severity {
    Severity::Medium
}
fn default_kind() -> AlertKind {
    AlertKind::Suspicious
}
fn default_confidence() -> u8 {
    50
}
fn default_enabled() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    expression: String,
    #[serde(default = "default_severity")]
    severity: Severity,
    #[serde(default = "default_kind")]
    kind: AlertKind,
    #[serde(default = "default_confidence")]
    confidence: u8,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    incident: Option<String>,
    #[serde(default = "default_enabled")]
    enabled: bool,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// Metadata keys every rule alert carries already.
const RESERVED_METADATA: [&str; 2] = ["rule", "expression"];

/// One loaded rule.
#[derive(Debug)]
pub struct Rule {
    /// Its name; alerts carry `rule:<name>` as their detector.
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// The expression as written.
    pub expression: String,
    /// Severity of its alerts.
    pub severity: Severity,
    /// Kind of its alerts.
    pub kind: AlertKind,
    /// Confidence of its alerts.
    pub confidence: u8,
    /// What evaluating its expression costs, in AST nodes (loops counted 32 times).
    pub cost: u64,
    expr: IdedExpr,
    description: Template,
    incident: Option<IdedExpr>,
    metadata: Vec<(String, IdedExpr)>,
    /// What the expression reads.
    fields: FieldSet,
    /// What the description, incident key and metadata read (built when the rule fires).
    fire_fields: FieldSet,
    detector: String,
}

/// Which rules to evaluate for a transaction.
#[derive(Default, Debug)]
struct Prefilter {
    to: HashMap<EvmAddress, Vec<u32>>,
    from: HashMap<EvmAddress, Vec<u32>>,
    selector: HashMap<[u8; 4], Vec<u32>>,
    event: HashMap<String, Vec<u32>>,
    emitter: HashMap<EvmAddress, Vec<u32>>,
    /// (minimum value, rule), ascending.
    value: Vec<(f64, u32)>,
    always: Vec<u32>,
}

/// A set of CEL rules, run as one detector. See the module docs.
pub struct RuleSet {
    rules: Vec<Rule>,
    abis: ContractAbis,
    root: CelContext<'static>,
    prefilter: Prefilter,
    plan: Vec<(String, String)>,
    seen: Vec<u32>,
    generation: u32,
    candidates: Vec<u32>,
    evaluation_errors: u64,
    last_error: Option<String>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet").field("rules", &self.rules.len()).finish_non_exhaustive()
    }
}

impl Default for RuleSet {
    fn default() -> Self {
        Self::empty()
    }
}

fn list_value(
    file: &str,
    name: &str,
    items: &[toml::Value],
) -> Result<(Value, Vec<String>), RuleError> {
    let err = |message: String| RuleError::List { file: file.into(), list: name.into(), message };
    let mut keys: HashMap<Key, Value> = HashMap::with_capacity(items.len());
    let mut strings = Vec::new();
    for item in items {
        let key = match item {
            toml::Value::String(s) => {
                let s = if s.starts_with("0x") || s.starts_with("0X") {
                    normalise_hex(s).map_err(|e| err(format!("{s:?}: {e}")))?
                } else {
                    s.clone()
                };
                strings.push(s.clone());
                Key::String(Arc::new(s))
            }
            toml::Value::Integer(i) => Key::Int(*i),
            toml::Value::Boolean(b) => Key::Bool(*b),
            other => {
                return Err(err(format!(
                    "lists hold strings, integers or booleans, not {}",
                    other.type_str()
                )));
            }
        };
        keys.insert(key, Value::Bool(true));
    }
    Ok((Value::Map(Map { map: Arc::new(keys) }), strings))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn compile(source: &str) -> Result<IdedExpr, String> {
    check_unary_runs(source)?;
    let normalised = normalise_hex(source)?;
    // cel-parser 0.10 panics on some malformed input (an operator missing an operand) after
    // recording the syntax error; catch it, quietly, and report the expression as malformed.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let parsed = std::panic::catch_unwind(|| {
        cel_parser::Parser::default().parse(&normalised).map_err(|e| e.to_string())
    });
    std::panic::set_hook(hook);
    parsed.unwrap_or_else(|_| {
        Err(format!(
            "syntax error: {source:?} is incomplete or malformed (an operator without its operand?)"
        ))
    })
}

impl RuleSet {
    /// A set with no rules.
    pub fn empty() -> Self {
        let mut root = CelContext::default();
        root.add_function("lower", |This(s): This<Arc<String>>| -> Arc<String> {
            Arc::new(s.to_lowercase())
        });
        Self {
            rules: Vec::new(),
            abis: ContractAbis::default(),
            root,
            prefilter: Prefilter::default(),
            plan: Vec::new(),
            seen: Vec::new(),
            generation: 0,
            candidates: Vec::new(),
            evaluation_errors: 0,
            last_error: None,
        }
    }

    /// Loads rule files given as `(file name, TOML text)`. Names (of rules and of lists) must be
    /// unique across all files; disabled rules are checked but not run. Contracts must carry
    /// their ABI inline (`abi_json`); [`RuleSet::load_with`] also reads `abi` files.
    pub fn load<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RuleError> {
        Self::load_with(files, |_, path| {
            Err(format!("ABI file {path:?} cannot be read here: give the ABI inline (abi_json)"))
        })
    }

    /// Like [`RuleSet::load`]; `read_abi(rule file, path)` returns the text of a contract's
    /// `abi` file (a path relative to the rule file).
    pub fn load_with<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        mut read_abi: impl FnMut(&str, &str) -> Result<String, String>,
    ) -> Result<Self, RuleError> {
        let mut parsed = Vec::new();
        for (file, text) in files {
            let rf: RuleFile = toml::from_str(text)
                .map_err(|e| RuleError::File { file: file.into(), message: e.to_string() })?;
            parsed.push((file, rf));
        }

        let mut set = Self::empty();
        for (file, rf) in &parsed {
            for c in &rf.contract {
                let err = |message: String| RuleError::Contract {
                    file: (*file).into(),
                    address: c.address.clone(),
                    message,
                };
                let address =
                    EvmAddress::parse_strict(&c.address).map_err(|e| err(e.to_string()))?;
                let json = match (&c.abi, &c.abi_json) {
                    (Some(path), None) => read_abi(file, path).map_err(err)?,
                    (None, Some(json)) => json.clone(),
                    _ => {
                        return Err(err(
                            "give the ABI as exactly one of `abi` (a file) or `abi_json`".into(),
                        ));
                    }
                };
                set.abis.declare(address, &json).map_err(err)?;
            }
        }
        let mut list_names: HashSet<String> = HashSet::new();
        let mut list_values = ListValues::new();
        let mut list_files: HashMap<String, &str> = HashMap::new();
        for (file, rf) in &parsed {
            for (name, items) in &rf.lists {
                let err = |message: String| RuleError::List {
                    file: (*file).into(),
                    list: name.clone(),
                    message,
                };
                if !is_identifier(name) || name == "tx" {
                    return Err(err("a list name must be an identifier other than `tx`".into()));
                }
                if let Some(first) = list_files.get(name) {
                    return Err(err(format!("already defined in {first}")));
                }
                let (value, strings) = list_value(file, name, items)?;
                set.root.add_variable_from_value(name.clone(), value);
                list_names.insert(name.clone());
                list_values.insert(name.clone(), strings);
                list_files.insert(name.clone(), file);
            }
        }

        let mut rule_files: HashMap<String, String> = HashMap::new();
        for (file, rf) in parsed {
            for spec in rf.rule {
                let err = |message: String| RuleError::Rule {
                    file: file.into(),
                    rule: spec.name.clone(),
                    message,
                };
                let valid_name = !spec.name.is_empty()
                    && spec.name.len() <= 64
                    && spec.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                if !valid_name {
                    return Err(err(
                        "a rule name is 1–64 characters of a-z, 0-9, '-', '_' or '.'".into()
                    ));
                }
                if let Some(first) = rule_files.get(&spec.name) {
                    return Err(RuleError::DuplicateRule {
                        rule: spec.name.clone(),
                        first: first.clone(),
                        second: file.into(),
                    });
                }
                rule_files.insert(spec.name.clone(), file.into());
                if spec.confidence > 100 {
                    return Err(err(format!("confidence {} is above 100", spec.confidence)));
                }
                let expr =
                    compile(&spec.expression).map_err(|e| err(format!("expression: {e}")))?;
                let refs = references(&expr, &list_names);
                if let Some(problem) = refs.errors.first() {
                    return Err(err(format!("expression: {problem}")));
                }
                let fields = refs.fields;
                // What the description, incident key and metadata read is built only when the
                // rule fires.
                let mut fire_fields = FieldSet::default();
                let mut metadata = Vec::with_capacity(spec.metadata.len());
                for (key, src) in &spec.metadata {
                    if !is_identifier(key) || RESERVED_METADATA.contains(&key.as_str()) {
                        return Err(err(format!(
                            "metadata key {key:?}: a key is an identifier other than {}",
                            RESERVED_METADATA.join(" and ")
                        )));
                    }
                    let e = compile(src).map_err(|e| err(format!("metadata {key}: {e}")))?;
                    let r = references(&e, &list_names);
                    if let Some(problem) = r.errors.first() {
                        return Err(err(format!("metadata {key}: {problem}")));
                    }
                    fire_fields = fire_fields.union(r.fields);
                    metadata.push((key.clone(), e));
                }
                let incident = match &spec.incident {
                    Some(src) => {
                        let e = compile(src).map_err(|e| err(format!("incident: {e}")))?;
                        let r = references(&e, &list_names);
                        if let Some(problem) = r.errors.first() {
                            return Err(err(format!("incident: {problem}")));
                        }
                        fire_fields = fire_fields.union(r.fields);
                        Some(e)
                    }
                    None => {
                        fire_fields = fire_fields.union(FieldSet::of("hash").unwrap_or_default());
                        None
                    }
                };
                let default_description = format!("Rule {} matched", spec.name);
                let description =
                    Template::parse(spec.description.as_deref().unwrap_or(&default_description))
                        .map_err(|e| err(format!("description: {e}")))?;
                for e in description.expressions() {
                    let r = references(e, &list_names);
                    if let Some(problem) = r.errors.first() {
                        return Err(err(format!("description: {problem}")));
                    }
                    fire_fields = fire_fields.union(r.fields);
                }
                if !spec.enabled {
                    continue;
                }
                let index =
                    u32::try_from(set.rules.len()).map_err(|_| err("too many rules".into()))?;
                let keys = prefilter_keys(&expr, &list_values);
                let mut plan = Vec::new();
                for key in keys {
                    let p = &mut set.prefilter;
                    match key {
                        Some(Atom::To(addrs)) => {
                            plan.push(format!("to ({} addresses)", addrs.len()));
                            addrs.into_iter().for_each(|a| p.to.entry(a).or_default().push(index));
                        }
                        Some(Atom::From(addrs)) => {
                            plan.push(format!("from ({} addresses)", addrs.len()));
                            addrs
                                .into_iter()
                                .for_each(|a| p.from.entry(a).or_default().push(index));
                        }
                        Some(Atom::Selector(sels)) => {
                            plan.push(format!("selector ({})", sels.len()));
                            sels.into_iter()
                                .for_each(|s| p.selector.entry(s).or_default().push(index));
                        }
                        Some(Atom::Event(names)) => {
                            plan.push(format!("event {}", names.join("|")));
                            names
                                .into_iter()
                                .for_each(|n| p.event.entry(n).or_default().push(index));
                        }
                        Some(Atom::Emitter(addrs)) => {
                            plan.push(format!("log from ({} addresses)", addrs.len()));
                            addrs
                                .into_iter()
                                .for_each(|a| p.emitter.entry(a).or_default().push(index));
                        }
                        Some(Atom::MinValue(v)) => {
                            plan.push(format!("value >= {v:e}"));
                            p.value.push((v, index));
                        }
                        None => {
                            plan.push("every transaction".into());
                            p.always.push(index);
                        }
                    }
                }
                set.plan.push((spec.name.clone(), plan.join(" or ")));
                set.rules.push(Rule {
                    detector: format!("rule:{}", spec.name),
                    name: spec.name,
                    file: file.into(),
                    expression: spec.expression,
                    severity: spec.severity,
                    kind: spec.kind,
                    confidence: spec.confidence,
                    cost: cost(&expr),
                    expr,
                    description,
                    incident,
                    metadata,
                    fields,
                    fire_fields,
                });
            }
        }
        set.prefilter.value.sort_by(|a, b| a.0.total_cmp(&b.0));
        let p = &mut set.prefilter;
        for v in p.to.values_mut().chain(p.from.values_mut()).chain(p.emitter.values_mut()) {
            v.dedup();
        }
        set.seen = vec![0; set.rules.len()];
        Ok(set)
    }

    /// The contracts declared with an ABI.
    pub fn contracts(&self) -> &ContractAbis {
        &self.abis
    }

    /// What evaluating every enabled rule costs, in AST nodes (see [`Rule::cost`]).
    pub fn cost(&self) -> u64 {
        self.rules.iter().map(|r| r.cost).fold(0, u64::saturating_add)
    }

    /// Renames the detector of every rule's alerts to `<prefix><rule name>` (shared rules
    /// are `shared:<name>`, so they are told apart from the node's own).
    pub fn set_detector_prefix(&mut self, prefix: &str) {
        for r in &mut self.rules {
            r.detector = format!("{prefix}{}", r.name);
        }
    }

    /// The enabled rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of enabled rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// For each rule, the condition the prefilter evaluates it on (e.g. `to (3 addresses)`,
    /// `every transaction`).
    pub fn plan(&self) -> &[(String, String)] {
        &self.plan
    }

    /// How many rule evaluations failed so far, and the last failure.
    pub fn evaluation_errors(&self) -> (u64, Option<&str>) {
        (self.evaluation_errors, self.last_error.as_deref())
    }

    /// Fills `self.candidates` with the rules worth evaluating on `tx`.
    fn select(&mut self, tx: &Transaction) {
        self.candidates.clear();
        if self.rules.is_empty() {
            return;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let (seen, stamp, out) = (&mut self.seen, self.generation, &mut self.candidates);
        let mut take = |rules: &[u32]| {
            for r in rules {
                if let Some(s) = seen.get_mut(*r as usize)
                    && *s != stamp
                {
                    *s = stamp;
                    out.push(*r);
                }
            }
        };
        let p = &self.prefilter;
        take(&p.always);
        if let Some(to) = tx.to
            && let Some(r) = p.to.get(&to)
        {
            take(r);
        }
        if let Some(r) = p.from.get(&tx.from) {
            take(r);
        }
        if let Some(sel) = tx.selector()
            && let Some(r) = p.selector.get(&sel.0)
        {
            take(r);
        }
        if !p.event.is_empty() {
            for (_, e) in tx.events() {
                if let Some(r) = p.event.get(e.name()) {
                    take(r);
                }
            }
        }
        if !p.emitter.is_empty() {
            for log in &tx.logs {
                if let Some(r) = p.emitter.get(&log.address) {
                    take(r);
                }
            }
        }
        if !p.value.is_empty() && !tx.value.is_zero() {
            let value = f64::from(tx.value);
            for (min, r) in &p.value {
                if *min > value {
                    break;
                }
                take(std::slice::from_ref(r));
            }
        }
        // Evaluate in rule order, whatever bucket found them.
        self.candidates.sort_unstable();
    }
}

fn evaluate(expr: &IdedExpr, scope: &CelContext<'_>) -> Result<Value, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| Value::resolve(expr, scope))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the interpreter panicked".into()),
    }
}

impl Detector for RuleSet {
    fn name(&self) -> &str {
        "rules"
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        self.select(tx);
        if self.candidates.is_empty() {
            return;
        }
        let fields = self
            .candidates
            .iter()
            .filter_map(|i| self.rules.get(*i as usize))
            .fold(FieldSet::default(), |f, r| f.union(r.fields));
        let mut scope = self.root.new_inner_scope();
        scope.add_variable_from_value("tx", tx_value(tx, fields, cx, &self.abis));
        for i in &self.candidates {
            let Some(rule) = self.rules.get(*i as usize) else { continue };
            match evaluate(&rule.expr, &scope) {
                Ok(Value::Bool(true)) => {}
                Ok(Value::Bool(false)) => continue,
                Ok(other) => {
                    self.evaluation_errors += 1;
                    self.last_error = Some(format!(
                        "rule {}: expression gave {} instead of a bool",
                        rule.name,
                        activation::display(&other)
                    ));
                    continue;
                }
                Err(e) => {
                    self.evaluation_errors += 1;
                    self.last_error = Some(format!("rule {}: {e}", rule.name));
                    continue;
                }
            }
            // A fired rule's description, incident key and metadata may read more of `tx`.
            let wider;
            let scope = if fields.contains(rule.fire_fields) {
                &scope
            } else {
                let mut s = self.root.new_inner_scope();
                s.add_variable_from_value(
                    "tx",
                    tx_value(tx, fields.union(rule.fire_fields), cx, &self.abis),
                );
                wider = s;
                &wider
            };
            let description = rule.description.render(|e| evaluate(e, scope));
            let incident = match &rule.incident {
                Some(e) => evaluate(e, scope).map(|v| activation::display(&v)).unwrap_or_default(),
                None => tx.hash.to_string(),
            };
            let mut finding = Finding::new(
                &rule.detector,
                rule.severity,
                rule.kind,
                rule.confidence,
                description,
            )
            .incident(incident)
            .address(tx.from)
            .meta("rule", &rule.name)
            .meta("expression", &rule.expression);
            if let Some(to) = tx.to {
                finding = finding.address(to);
            }
            for (key, e) in &rule.metadata {
                let value = match evaluate(e, scope) {
                    Ok(v) => activation::display(&v),
                    Err(e) => format!("<error: {e}>"),
                };
                finding = finding.meta(key, value);
            }
            out.push(finding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_rule() {
        let err =
            RuleSet::load([("a.toml", "[[rule]]\nname = \"bad\"\nexpression = \"tx.value > \"")])
                .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("a.toml") && text.contains("\"bad\"") && text.contains("expression"),
            "{text}"
        );

        let err = RuleSet::load([(
            "b.toml",
            "[[rule]]\nname = \"typo\"\nexpression = \"tx.valu > 1.0\"",
        )])
        .unwrap_err();
        assert!(err.to_string().contains("tx has no field `valu`"), "{err}");

        let err = RuleSet::load([("c.toml", "[[rule]]\nname = \"x\"\nexpresion = \"true\"")])
            .unwrap_err();
        assert!(
            matches!(err, RuleError::File { .. }) && err.to_string().contains("expresion"),
            "{err}"
        );

        let err = RuleSet::load([
            ("d.toml", "[[rule]]\nname = \"dup\"\nexpression = \"true\""),
            ("e.toml", "[[rule]]\nname = \"dup\"\nexpression = \"false\""),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            RuleError::DuplicateRule {
                rule: "dup".into(),
                first: "d.toml".into(),
                second: "e.toml".into()
            }
        );

        let err = RuleSet::load([(
            "f.toml",
            "[[rule]]\nname = \"t\"\nexpression = \"true\"\ndescription = \"{{ tx.from \"",
        )])
        .unwrap_err();
        assert!(err.to_string().contains("description"), "{err}");

        let err = RuleSet::load([("g.toml", "[lists]\nw = [1.5]")]).unwrap_err();
        assert!(err.to_string().contains("list \"w\""), "{err}");

        let err = RuleSet::load([(
            "h.toml",
            "[[rule]]\nname = \"s\"\nexpression = \"true\"\nseverity = \"huge\"",
        )])
        .unwrap_err();
        assert!(err.to_string().contains("huge"), "{err}");
    }
}
