//! Static analysis of rule expressions at load time: address literals are normalised, every
//! name an expression uses is checked, and the conditions a rule cannot be true without (its
//! recipient, selector, sender, events or minimum value) are extracted for the prefilter.

use std::collections::{HashMap, HashSet};

use cel_parser::ast::{ComprehensionExpr, Expr, IdedExpr};
use cel_parser::reference::Val;
use vigil_core::EvmAddress;

use super::activation::FieldSet;

/// Functions a rule may call (the interpreter's built-ins and macros).
const FUNCTIONS: &[&str] = &[
    "contains",
    "size",
    "max",
    "min",
    "startsWith",
    "endsWith",
    "string",
    "bytes",
    "double",
    "int",
    "uint",
    "matches",
    "has",
    "exists",
    "all",
    "exists_one",
    "existsOne",
    "map",
    "filter",
    "lower",
];

/// Lower-cases every `0x…` hex token in `source`, so rule literals compare equal to the
/// lower-case strings of the `tx` view. A 40-digit token in mixed case must carry a correct
/// EIP-55 checksum.
pub(crate) fn normalise_hex(source: &str) -> Result<String, String> {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if boundary && bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X')) {
            let start = i + 2;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_hexdigit() {
                end += 1;
            }
            let token = &source[i..end];
            if end - start == 40 {
                EvmAddress::parse_strict(token).map_err(|e| e.to_string())?;
            }
            out.push_str(&token.to_ascii_lowercase());
            i = end;
        } else {
            let c = source[i..].chars().next().unwrap_or('\0');
            out.push(c);
            i += c.len_utf8().max(1);
        }
    }
    Ok(out)
}

/// What an expression refers to.
#[derive(Default, Debug)]
pub(crate) struct Refs {
    /// `tx` fields read.
    pub fields: FieldSet,
    /// Problems: unknown variables, functions or `tx` fields.
    pub errors: Vec<String>,
}

/// Checks the names `expr` uses against `tx`, the lists and the known functions.
pub(crate) fn references(expr: &IdedExpr, lists: &HashSet<String>) -> Refs {
    let mut refs = Refs::default();
    let mut bound: Vec<String> = Vec::new();
    walk(expr, lists, &mut bound, &mut refs);
    refs.errors.sort();
    refs.errors.dedup();
    refs
}

fn walk(e: &IdedExpr, lists: &HashSet<String>, bound: &mut Vec<String>, refs: &mut Refs) {
    match &e.expr {
        Expr::Ident(name) => {
            if name == "tx" {
                refs.fields = refs.fields.union(FieldSet::ALL);
            } else if !bound.contains(name) && !lists.contains(name) {
                refs.errors.push(format!("unknown variable `{name}` (known: tx and the lists)"));
            }
        }
        Expr::Select(s) => {
            if s.field == "texts" {
                refs.fields = refs.fields.union(FieldSet::TEXTS);
            }
            if let Expr::Ident(name) = &s.operand.expr
                && name == "tx"
                && !bound.iter().any(|b| b == "tx")
            {
                match FieldSet::of(&s.field) {
                    Some(f) => refs.fields = refs.fields.union(f),
                    None => refs.errors.push(format!(
                        "tx has no field `{}`; fields are: {}",
                        s.field,
                        super::activation::FIELDS.join(", ")
                    )),
                }
                return;
            }
            walk(&s.operand, lists, bound, refs);
        }
        Expr::Call(c) => {
            let operator = c.func_name.starts_with('_')
                || c.func_name.starts_with('@')
                || c.func_name.starts_with('!')
                || c.func_name.starts_with('-');
            if !operator && !FUNCTIONS.contains(&c.func_name.as_str()) {
                refs.errors.push(format!("unknown function `{}`", c.func_name));
            }
            if let Some(t) = &c.target {
                walk(t, lists, bound, refs);
            }
            for a in &c.args {
                walk(a, lists, bound, refs);
            }
        }
        Expr::Comprehension(c) => {
            walk(&c.iter_range, lists, bound, refs);
            walk(&c.accu_init, lists, bound, refs);
            bound.push(c.iter_var.clone());
            if let Some(v2) = &c.iter_var2 {
                bound.push(v2.clone());
            }
            bound.push(c.accu_var.clone());
            walk(&c.loop_cond, lists, bound, refs);
            walk(&c.loop_step, lists, bound, refs);
            walk(&c.result, lists, bound, refs);
            bound.truncate(bound.len() - if c.iter_var2.is_some() { 3 } else { 2 });
        }
        Expr::List(l) => l.elements.iter().for_each(|x| walk(x, lists, bound, refs)),
        Expr::Map(m) => {
            for entry in &m.entries {
                if let cel_parser::ast::EntryExpr::MapEntry(me) = &entry.expr {
                    walk(&me.key, lists, bound, refs);
                    walk(&me.value, lists, bound, refs);
                }
            }
        }
        Expr::Struct(_) => refs.errors.push("message construction is not supported".into()),
        Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// How many times a comprehension's body is counted in [`cost`]: the length assumed of the
/// lists a rule iterates (a transaction's calls, logs, transfers).
pub(crate) const LOOP_FACTOR: u64 = 32;

/// The evaluation cost of an expression, in AST nodes visited: every node counts one, and a
/// comprehension's condition and step count [`LOOP_FACTOR`] times (so nested loops multiply).
pub(crate) fn cost(e: &IdedExpr) -> u64 {
    let sum =
        |xs: &mut dyn Iterator<Item = &IdedExpr>| xs.map(cost).fold(0u64, u64::saturating_add);
    1u64.saturating_add(match &e.expr {
        Expr::Select(s) => cost(&s.operand),
        Expr::Call(c) => sum(&mut c.target.iter().map(|t| &**t).chain(c.args.iter())),
        Expr::Comprehension(c) => {
            let body = cost(&c.loop_cond).saturating_add(cost(&c.loop_step));
            cost(&c.iter_range)
                .saturating_add(cost(&c.accu_init))
                .saturating_add(body.saturating_mul(LOOP_FACTOR))
                .saturating_add(cost(&c.result))
        }
        Expr::List(l) => sum(&mut l.elements.iter()),
        Expr::Map(m) => m
            .entries
            .iter()
            .map(|entry| match &entry.expr {
                cel_parser::ast::EntryExpr::MapEntry(me) => {
                    cost(&me.key).saturating_add(cost(&me.value))
                }
                _ => 1,
            })
            .fold(0u64, u64::saturating_add),
        Expr::Ident(_) | Expr::Struct(_) | Expr::Literal(_) | Expr::Unspecified => 0,
    })
}

/// A condition a rule needs, usable as a prefilter key.
#[derive(Clone, PartialEq, Debug)]
pub(crate) enum Atom {
    /// `tx.to` is one of these.
    To(Vec<EvmAddress>),
    /// `tx.from` is one of these.
    From(Vec<EvmAddress>),
    /// `tx.selector` is one of these.
    Selector(Vec<[u8; 4]>),
    /// One of these events is among the transaction's events.
    Event(Vec<String>),
    /// One of the transaction's logs was emitted by one of these contracts.
    Emitter(Vec<EvmAddress>),
    /// `tx.value` is at least this.
    MinValue(f64),
}

impl Atom {
    fn rank(&self) -> u8 {
        match self {
            Self::To(_) | Self::Emitter(_) => 0,
            Self::Selector(_) => 1,
            Self::From(_) => 2,
            Self::Event(_) => 3,
            Self::MinValue(_) => 4,
        }
    }
}

/// The values of the rule files' lists, as the analysis needs them.
pub(crate) type ListValues = HashMap<String, Vec<String>>;

/// Alternatives (disjunction) of conjunctions of atoms; an empty conjunction means "no known
/// condition". At most this many alternatives are tracked before giving up.
const MAX_ALTERNATIVES: usize = 16;

/// The prefilter key of each alternative way `expr` can be true: `None` for an alternative with
/// no usable condition (the rule must then be evaluated on every transaction).
pub(crate) fn prefilter_keys(expr: &IdedExpr, lists: &ListValues) -> Vec<Option<Atom>> {
    let keys: Vec<Option<Atom>> = dnf(expr, lists)
        .into_iter()
        .map(|conj| {
            conj.into_iter().min_by(|a, b| {
                a.rank().cmp(&b.rank()).then_with(|| match (a, b) {
                    // Of two value floors, the higher one filters more.
                    (Atom::MinValue(x), Atom::MinValue(y)) => y.total_cmp(x),
                    _ => std::cmp::Ordering::Equal,
                })
            })
        })
        .collect();
    // One alternative without a condition makes the rule run on every transaction anyway.
    if keys.iter().any(Option::is_none) { vec![None] } else { keys }
}

fn any() -> Vec<Vec<Atom>> {
    vec![Vec::new()]
}

fn dnf(e: &IdedExpr, lists: &ListValues) -> Vec<Vec<Atom>> {
    if let Expr::Call(c) = &e.expr
        && c.target.is_none()
        && c.args.len() == 2
    {
        match c.func_name.as_str() {
            "_&&_" => {
                let (l, r) = (dnf(&c.args[0], lists), dnf(&c.args[1], lists));
                if l.len() * r.len() > MAX_ALTERNATIVES {
                    return any();
                }
                let mut out = Vec::new();
                for a in &l {
                    for b in &r {
                        out.push(a.iter().chain(b).cloned().collect());
                    }
                }
                return out;
            }
            "_||_" => {
                let mut l = dnf(&c.args[0], lists);
                let r = dnf(&c.args[1], lists);
                if l.len() + r.len() > MAX_ALTERNATIVES {
                    return any();
                }
                l.extend(r);
                return l;
            }
            _ => {}
        }
    }
    match atom(e, lists) {
        Some(a) => vec![vec![a]],
        None => any(),
    }
}

fn tx_field(e: &IdedExpr) -> Option<&str> {
    match &e.expr {
        Expr::Select(s) if !s.test => match &s.operand.expr {
            Expr::Ident(n) if n == "tx" => Some(&s.field),
            _ => None,
        },
        _ => None,
    }
}

fn string_lit(e: &IdedExpr) -> Option<&str> {
    match &e.expr {
        Expr::Literal(Val::String(s)) => Some(s),
        _ => None,
    }
}

fn number_lit(e: &IdedExpr) -> Option<f64> {
    match &e.expr {
        Expr::Literal(Val::Int(i)) => Some(*i as f64),
        Expr::Literal(Val::UInt(u)) => Some(*u as f64),
        Expr::Literal(Val::Double(d)) => Some(*d),
        _ => None,
    }
}

/// The strings of a list literal or a list variable.
fn strings(e: &IdedExpr, lists: &ListValues) -> Option<Vec<String>> {
    match &e.expr {
        Expr::List(l) => l.elements.iter().map(|x| string_lit(x).map(str::to_owned)).collect(),
        Expr::Ident(name) => lists.get(name).cloned(),
        _ => string_lit(e).map(|s| vec![s.to_owned()]),
    }
}

fn field_atom(field: &str, values: Vec<String>) -> Option<Atom> {
    match field {
        "to" | "from" => {
            let addrs: Option<Vec<EvmAddress>> = values.iter().map(|v| v.parse().ok()).collect();
            let addrs = addrs?;
            Some(if field == "to" { Atom::To(addrs) } else { Atom::From(addrs) })
        }
        "selector" => {
            let sels: Option<Vec<[u8; 4]>> = values
                .iter()
                .map(|v| v.parse::<vigil_core::Selector>().ok().map(|s| s.0))
                .collect();
            Some(Atom::Selector(sels?))
        }
        _ => None,
    }
}

fn atom(e: &IdedExpr, lists: &ListValues) -> Option<Atom> {
    match &e.expr {
        Expr::Call(c) if c.target.is_none() && c.args.len() == 2 => {
            let (a, b) = (&c.args[0], &c.args[1]);
            match c.func_name.as_str() {
                "_==_" => {
                    let (field, lit) = match (tx_field(a), tx_field(b)) {
                        (Some(f), None) => (f, string_lit(b)?),
                        (None, Some(f)) => (f, string_lit(a)?),
                        _ => return None,
                    };
                    field_atom(field, vec![lit.to_owned()])
                }
                "@in" => {
                    if let Some(field) = tx_field(a) {
                        return field_atom(field, strings(b, lists)?);
                    }
                    if tx_field(b) == Some("event_names") {
                        return Some(Atom::Event(vec![string_lit(a)?.to_owned()]));
                    }
                    None
                }
                "_>_" | "_>=_" if tx_field(a) == Some("value") => number_lit(b).map(Atom::MinValue),
                "_<_" | "_<=_" if tx_field(b) == Some("value") => number_lit(a).map(Atom::MinValue),
                _ => None,
            }
        }
        Expr::Comprehension(c) => exists_atom(c, lists),
        _ => None,
    }
}

/// `tx.events.exists(e, e.name == "X" && …)` needs event X, and `e.address == "0x…"` (or
/// `e.address in list`) a log of that contract, as does `tx.abi_events.exists(e, e.address …)`;
/// `tx.transfers.exists(…)` needs a `Transfer`.
fn exists_atom(c: &ComprehensionExpr, lists: &ListValues) -> Option<Atom> {
    // Only `exists` accumulates with `@result || predicate` from `false`.
    if !matches!(c.accu_init.expr, Expr::Literal(Val::Boolean(false))) {
        return None;
    }
    let Expr::Call(step) = &c.loop_step.expr else { return None };
    if step.func_name != "_||_" || step.args.len() != 2 {
        return None;
    }
    match tx_field(&c.iter_range)? {
        "transfers" => Some(Atom::Event(vec!["Transfer".into()])),
        "events" => {
            let mut atoms = Vec::new();
            conj_event_atoms(&step.args[1], &c.iter_var, lists, &mut atoms);
            atoms.into_iter().min_by_key(Atom::rank)
        }
        "emitters" => {
            let var = &c.iter_var;
            let Expr::Call(p) = &step.args[1].expr else { return None };
            let is_var = |x: &IdedExpr| matches!(&x.expr, Expr::Ident(n) if n == var);
            let values = match (p.func_name.as_str(), p.args.as_slice()) {
                ("@in", [x, l]) if is_var(x) => strings(l, lists)?,
                ("_==_", [x, l]) | ("_==_", [l, x]) if is_var(x) => vec![string_lit(l)?.to_owned()],
                _ => return None,
            };
            let addrs: Option<Vec<EvmAddress>> = values.iter().map(|v| v.parse().ok()).collect();
            Some(Atom::Emitter(addrs?))
        }
        // ABI-decoded events are named by their declared ABI, not by the standard decoder the
        // event index uses: only their emitter can key the prefilter.
        "abi_events" => {
            let mut atoms = Vec::new();
            conj_event_atoms(&step.args[1], &c.iter_var, lists, &mut atoms);
            atoms.into_iter().find(|a| matches!(a, Atom::Emitter(_)))
        }
        _ => None,
    }
}

/// The atoms of a conjunction over the iteration variable `var` of `tx.events.exists`.
fn conj_event_atoms(e: &IdedExpr, var: &str, lists: &ListValues, out: &mut Vec<Atom>) {
    let Expr::Call(c) = &e.expr else { return };
    if c.args.len() != 2 || c.target.is_some() {
        return;
    }
    let var_field = |x: &IdedExpr| match &x.expr {
        Expr::Select(s) if !s.test && matches!(&s.operand.expr, Expr::Ident(n) if n == var) => {
            Some(s.field.clone())
        }
        _ => None,
    };
    match c.func_name.as_str() {
        "_&&_" => {
            conj_event_atoms(&c.args[0], var, lists, out);
            conj_event_atoms(&c.args[1], var, lists, out);
        }
        "_==_" => {
            let (field, lit) = match (var_field(&c.args[0]), var_field(&c.args[1])) {
                (Some(f), None) => (f, string_lit(&c.args[1])),
                (None, Some(f)) => (f, string_lit(&c.args[0])),
                _ => return,
            };
            match (field.as_str(), lit) {
                ("name", Some(l)) => out.push(Atom::Event(vec![l.to_owned()])),
                ("address", Some(l)) => {
                    if let Ok(a) = l.parse() {
                        out.push(Atom::Emitter(vec![a]));
                    }
                }
                _ => {}
            }
        }
        "@in" => {
            if var_field(&c.args[0]).as_deref() == Some("address")
                && let Some(values) = strings(&c.args[1], lists)
                && let Some(addrs) =
                    values.iter().map(|v| v.parse().ok()).collect::<Option<Vec<_>>>()
            {
                out.push(Atom::Emitter(addrs));
            }
        }
        _ => {}
    }
}

/// Rejects repeated unary operators (`!!x`, `--x`): cel-parser 0.10 turns any even number of
/// them into one (`!!x` means `!x` to it). Parenthesised forms (`!(!x)`) parse correctly.
pub(crate) fn check_unary_runs(source: &str) -> Result<(), String> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut last_op: Option<char> = None;
    for c in source.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                last_op = None;
            }
            '!' | '-' if last_op == Some(c) => {
                return Err(format!(
                    "`{c}{c}`: repeated unary operators are mis-parsed by the CEL parser; write \
                     `{c}({c}x)`, or drop the pair"
                ));
            }
            '!' | '-' => last_op = Some(c),
            c if c.is_whitespace() => {}
            _ => last_op = None,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> IdedExpr {
        cel_parser::Parser::default().parse(s).unwrap()
    }

    fn keys(s: &str) -> Vec<Option<Atom>> {
        let mut lists = ListValues::new();
        lists.insert("watch".into(), vec!["0x5fbdb2315678afecb367f032d93f642f64180aa3".into()]);
        prefilter_keys(&parse(&normalise_hex(s).unwrap()), &lists)
    }

    #[test]
    fn hex_literals_are_lower_cased_and_checksums_checked() {
        assert_eq!(
            normalise_hex(r#"tx.to == "0x5FbDB2315678afecb367f032d93F642f64180aa3""#).unwrap(),
            r#"tx.to == "0x5fbdb2315678afecb367f032d93f642f64180aa3""#
        );
        assert!(normalise_hex(r#"tx.to == "0x5FbDB2315678afecb367f032d93F642f64180aA3""#).is_err());
        assert_eq!(
            normalise_hex("tx.selector == '0xA9059CBB' && x0xFF").unwrap(),
            "tx.selector == '0xa9059cbb' && x0xFF"
        );
    }

    #[test]
    fn prefilter_keys_pick_the_most_selective_condition() {
        let to = "0x5fbdb2315678afecb367f032d93f642f64180aa3".parse::<EvmAddress>().unwrap();
        assert_eq!(
            keys(r#"tx.value > 1e18 && tx.to == "0x5FbDB2315678afecb367f032d93F642f64180aa3""#),
            vec![Some(Atom::To(vec![to]))]
        );
        assert_eq!(keys("tx.to in watch && tx.value > 5.0"), vec![Some(Atom::To(vec![to]))]);
        assert_eq!(keys("tx.value >= 100e18"), vec![Some(Atom::MinValue(100e18))]);
        assert_eq!(keys("1e18 < tx.value && tx.value > 2e18"), vec![Some(Atom::MinValue(2e18))]);
        assert_eq!(
            keys(r#"tx.selector == "0xa9059cbb" || "FlashLoan" in tx.event_names"#),
            vec![
                Some(Atom::Selector(vec![[0xa9, 0x05, 0x9c, 0xbb]])),
                Some(Atom::Event(vec!["FlashLoan".into()]))
            ]
        );
        assert_eq!(
            keys(r#"tx.events.exists(e, e.name == "Swap" && e.amount0_in > 5.0)"#),
            vec![Some(Atom::Event(vec!["Swap".into()]))]
        );
        assert_eq!(keys("tx.value > 1.0 || tx.pending"), vec![None]);
        assert_eq!(keys("!(tx.to == '0x5fbdb2315678afecb367f032d93f642f64180aa3')"), vec![None]);
        assert_eq!(keys("tx.events.all(e, e.name == 'Swap')"), vec![None]);
        assert_eq!(
            keys("tx.events.exists(e, e.name == 'Swap' && e.address in watch)"),
            vec![Some(Atom::Emitter(vec![to]))]
        );
        assert_eq!(
            keys("tx.from in watch || tx.emitters.exists(a, a in watch)"),
            vec![Some(Atom::From(vec![to])), Some(Atom::Emitter(vec![to]))]
        );
    }

    #[test]
    fn repeated_unary_operators_are_refused() {
        assert!(check_unary_runs("!!tx.pending").is_err());
        assert!(check_unary_runs("! !tx.pending").is_err());
        assert!(check_unary_runs("tx.value - -1.0 > 0.0").is_err());
        assert!(check_unary_runs("!(!tx.pending) && tx.value != 0.0 && tx.to != '!!'").is_ok());
        assert!(check_unary_runs("-(-1) < 0 && \"a\\\"!!\" != ''").is_ok());
    }

    #[test]
    fn unknown_names_are_reported() {
        let lists: HashSet<String> = ["watch".to_owned()].into();
        let r = references(&parse("tx.valu > 1.0 && watchh.size() > 0 && foo(tx.to)"), &lists);
        assert_eq!(r.errors.len(), 3, "{:?}", r.errors);
        let r =
            references(&parse("tx.events.exists(e, e.name == 'Swap') && tx.to in watch"), &lists);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.fields, FieldSet::of("events").unwrap().union(FieldSet::of("to").unwrap()));
    }
}
