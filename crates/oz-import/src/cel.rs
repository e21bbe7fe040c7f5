//! OpenZeppelin Monitor expressions in CEL, with their documented semantics: each parameter
//! compares by its ABI type (integers numerically, addresses case-insensitively, strings and
//! bytes case-insensitively, booleans, arrays by `contains` and `[index]`).
//!
//! OZ evaluates left to right, short-circuiting, and a condition whose evaluation reaches an
//! error (an index out of range, an operator its type does not have, a parameter the ABI does
//! not name) is false as a whole. Each translated piece therefore carries when it is defined
//! (`ok`) beside its value, and the expression is `ok && value`; for the usual expression,
//! where nothing can fail, `ok` is `true` and drops out.

use crate::expr::{Accessor, Condition, Expr, Literal, Op};

/// A parameter an expression may name: the CEL that reads it and its ABI type.
#[derive(Clone, Debug)]
pub struct Param {
    /// CEL reading the value (`e.args["value"]`, `tx.value`).
    pub cel: String,
    /// The ABI type, e.g. `uint256`, `address[]`.
    pub kind: String,
}

/// What a name stands for in the scope of a condition.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// A known parameter.
    Found(Param),
    /// No parameter has that name: OZ fails the condition.
    Missing,
    /// The ABIs in play disagree about it.
    Ambiguous(String),
}

/// Why an expression cannot be translated at all.
pub type Untranslatable = String;

/// A CEL expression that never fails at run time, with the CEL of when the OZ evaluation would
/// not have failed.
#[derive(Clone, Debug)]
struct Piece {
    ok: String,
    val: String,
}

impl Piece {
    fn always(val: String) -> Self {
        Self { ok: "true".into(), val }
    }

    fn error() -> Self {
        Self { ok: "false".into(), val: "false".into() }
    }
}

fn and(a: &str, b: &str) -> String {
    if a == b {
        return a.to_owned();
    }
    match (a, b) {
        ("true", x) | (x, "true") => x.to_owned(),
        ("false", _) | (_, "false") => "false".into(),
        _ => format!("({a} && {b})"),
    }
}

fn or(a: &str, b: &str) -> String {
    if a == b {
        return a.to_owned();
    }
    match (a, b) {
        ("false", x) | (x, "false") => x.to_owned(),
        ("true", _) | (_, "true") => "true".into(),
        _ => format!("({a} || {b})"),
    }
}

fn not(a: &str) -> String {
    match a {
        "true" => "false".into(),
        "false" => "true".into(),
        _ => format!("!({a})"),
    }
}

/// A CEL string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A CEL double literal.
pub fn double(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) { s } else { format!("{s}.0") }
}

/// An OZ address as the lower-case `0x` string `tx` carries.
pub fn address(s: &str) -> String {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(&t);
    format!("0x{}", t.to_lowercase())
}

/// An integer literal (decimal, or `0x` hex) as a double; `None` when it is not one.
fn integer(s: &str, signed: bool) -> Option<f64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if neg && !signed {
        return None;
    }
    let magnitude = if let Some(hex) =
        digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X"))
    {
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) || hex.len() > 64 {
            return None;
        }
        hex.chars().fold(0f64, |acc, c| acc * 16.0 + f64::from(c.to_digit(16).unwrap_or(0)))
    } else {
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 78 {
            return None;
        }
        digits.parse::<f64>().ok()?
    };
    Some(if neg { -magnitude } else { magnitude })
}

/// A decimal number (`-1.5`, `20`) as OZ's decimal comparison reads one.
fn decimal(s: &str) -> Option<f64> {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let ok = !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.matches('.').count() <= 1
        && !t.starts_with('.')
        && !t.ends_with('.');
    if ok { s.parse().ok() } else { None }
}

fn is_numeric(kind: &str) -> bool {
    !kind.ends_with(']')
        && (kind == "number" || kind.starts_with("uint") || kind.starts_with("int"))
}

fn is_stringy(kind: &str) -> bool {
    !kind.ends_with(']') && (kind == "string" || kind.starts_with("bytes"))
}

/// The element type of an array type (`uint256[]` → `uint256`, `address[3]` → `address`).
fn element(kind: &str) -> Option<&str> {
    if !kind.ends_with(']') {
        return None;
    }
    kind.rfind('[').map(|i| &kind[..i])
}

/// Translates conditions in one scope.
pub struct Translator<'a> {
    /// Resolves names.
    pub lookup: &'a dyn Fn(&str) -> Lookup,
    /// Constructs that OZ rejects every time it reaches them (the condition is then false),
    /// for the report.
    pub warnings: Vec<String>,
}

impl Translator<'_> {
    /// The CEL of `expr`: true exactly when OZ's evaluation is.
    pub fn translate(&mut self, expr: &Expr) -> Result<String, Untranslatable> {
        let p = self.piece(expr)?;
        Ok(and(&p.ok, &p.val))
    }

    fn piece(&mut self, expr: &Expr) -> Result<Piece, Untranslatable> {
        match expr {
            Expr::Condition(c) => self.condition(c),
            Expr::And(l, r) => {
                let (l, r) = (self.piece(l)?, self.piece(r)?);
                // Defined when the left is, and the right is whenever the left is true.
                let ok = and(&l.ok, &or(&not(&l.val), &r.ok));
                Ok(Piece { ok, val: and(&l.val, &r.val) })
            }
            Expr::Or(l, r) => {
                let (l, r) = (self.piece(l)?, self.piece(r)?);
                let ok = and(&l.ok, &or(&l.val, &r.ok));
                Ok(Piece { ok, val: or(&l.val, &r.val) })
            }
        }
    }

    fn reject(&mut self, c: &Condition, why: &str) -> Piece {
        self.warnings.push(format!("`{}`: {why}; OZ evaluates it as an error", display(c)));
        Piece::error()
    }

    fn condition(&mut self, c: &Condition) -> Result<Piece, Untranslatable> {
        let param = match (self.lookup)(&c.base) {
            Lookup::Found(p) => p,
            Lookup::Missing => return Ok(self.reject(c, &format!("no parameter `{}`", c.base))),
            Lookup::Ambiguous(why) => return Err(format!("`{}`: {why}", display(c))),
        };
        let mut cel = param.cel.clone();
        let mut kind = param.kind.clone();
        let mut ok = "true".to_owned();
        for a in &c.path {
            match a {
                Accessor::Index(i) => {
                    let Some(elem) = element(&kind) else {
                        return Ok(self.reject(c, &format!("{kind} is not an array")));
                    };
                    ok = and(&ok, &format!("size({cel}) > {i}"));
                    cel = format!("{cel}[{i}]");
                    kind = elem.to_owned();
                }
                Accessor::Key(k) => {
                    return Ok(self.reject(c, &format!("`.{k}`: EVM values have no keys")));
                }
            }
        }
        let mut p = self.compare(c, &cel, &kind)?;
        p.ok = and(&ok, &p.ok);
        p.val = and(&ok, &p.val);
        Ok(p)
    }

    fn compare(&mut self, c: &Condition, x: &str, kind: &str) -> Result<Piece, Untranslatable> {
        let op = c.op;
        let cmp = |rhs: String| match op {
            Op::StartsWith => format!("{x}.startsWith({rhs})"),
            Op::EndsWith => format!("{x}.endsWith({rhs})"),
            Op::Contains => format!("{x}.contains({rhs})"),
            _ => format!("{x} {} {rhs}", op.as_str()),
        };
        if is_numeric(kind) {
            let text = match &c.value {
                Literal::Number(s) | Literal::Str(s) => s,
                Literal::Bool(_) => return Ok(self.reject(c, "a number compared with a boolean")),
            };
            if !(op.is_ordering() || matches!(op, Op::Eq | Op::Ne)) {
                return Ok(self.reject(c, &format!("{kind} has no `{}`", op.as_str())));
            }
            let Some(v) = integer(text, kind.starts_with("int")) else {
                return Ok(self.reject(c, &format!("{text:?} is not an integer for {kind}")));
            };
            return Ok(Piece::always(cmp(double(v))));
        }
        if kind == "address" {
            let Literal::Str(s) = &c.value else {
                return Ok(self.reject(c, "an address compares with a string"));
            };
            if !matches!(op, Op::Eq | Op::Ne) {
                return Ok(self.reject(c, &format!("address has no `{}`", op.as_str())));
            }
            return Ok(Piece::always(cmp(string(&address(s)))));
        }
        if is_stringy(kind) {
            let Literal::Str(s) = &c.value else {
                return Ok(self.reject(c, &format!("a {kind} compares with a string")));
            };
            if op.is_ordering() {
                return Ok(self.reject(c, &format!("{kind} has no `{}`", op.as_str())));
            }
            let lhs = if kind == "string" { format!("{x}.lower()") } else { x.to_owned() };
            let rhs = string(&s.to_lowercase());
            let val = match op {
                Op::StartsWith => format!("{lhs}.startsWith({rhs})"),
                Op::EndsWith => format!("{lhs}.endsWith({rhs})"),
                Op::Contains => format!("{lhs}.contains({rhs})"),
                _ => format!("{lhs} {} {rhs}", op.as_str()),
            };
            return Ok(Piece::always(val));
        }
        if kind == "bool" {
            let Literal::Bool(b) = &c.value else {
                return Ok(self.reject(c, "a bool compares with true or false"));
            };
            if !matches!(op, Op::Eq | Op::Ne) {
                return Ok(self.reject(c, &format!("bool has no `{}`", op.as_str())));
            }
            return Ok(Piece::always(cmp(b.to_string())));
        }
        if let Some(elem) = element(kind) {
            return match op {
                Op::Contains => {
                    let needle = match &c.value {
                        Literal::Str(s) | Literal::Number(s) => s,
                        Literal::Bool(_) => {
                            return Ok(self.reject(c, "`contains` takes a string or number"));
                        }
                    };
                    let pred = if is_numeric(elem) {
                        decimal(needle).map(|v| format!("v == {}", double(v)))
                    } else if elem == "address" {
                        Some(format!("v == {}", string(&address(needle))))
                    } else if elem == "string" {
                        Some(format!("v.lower() == {}", string(&needle.to_lowercase())))
                    } else if elem.starts_with("bytes") {
                        Some(format!("v == {}", string(&needle.to_lowercase())))
                    } else if elem == "bool" {
                        match needle.to_lowercase().as_str() {
                            "true" => Some("v == true".into()),
                            "false" => Some("v == false".into()),
                            _ => None,
                        }
                    } else {
                        return Err(format!(
                            "`{}`: `contains` searches {kind} values deeply; no CEL equivalent",
                            display(c)
                        ));
                    };
                    Ok(Piece::always(match pred {
                        Some(p) => format!("{x}.exists(v, {p})"),
                        // No element can equal it (a number against a word).
                        None => "false".into(),
                    }))
                }
                Op::Eq | Op::Ne => Err(format!(
                    "`{}`: OZ compares the array's JSON text; no CEL equivalent",
                    display(c)
                )),
                _ => Ok(self.reject(c, &format!("an array has no `{}`", op.as_str()))),
            };
        }
        if kind.starts_with("tuple") || kind.starts_with('(') {
            return Err(format!(
                "`{}`: tuples compare by their text form in OZ; no CEL equivalent",
                display(c)
            ));
        }
        Err(format!("`{}`: parameter type {kind} is not supported", display(c)))
    }
}

/// A condition as written.
pub fn display(c: &Condition) -> String {
    let mut lhs = c.base.clone();
    for a in &c.path {
        match a {
            Accessor::Index(i) => lhs.push_str(&format!("[{i}]")),
            Accessor::Key(k) => lhs.push_str(&format!(".{k}")),
        }
    }
    let rhs = match &c.value {
        Literal::Bool(b) => b.to_string(),
        Literal::Number(n) => n.clone(),
        Literal::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
    };
    format!("{lhs} {} {rhs}", c.op.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn scope(name: &str) -> Lookup {
        let kind = match name {
            "amount" => "uint256",
            "delta" => "int256",
            "to" => "address",
            "memo" => "string",
            "data" => "bytes",
            "flag" => "bool",
            "ids" => "uint256[]",
            "owners" => "address[]",
            "pair" => "tuple",
            "dup" => return Lookup::Ambiguous("two ABIs disagree".into()),
            _ => return Lookup::Missing,
        };
        Lookup::Found(Param { cel: format!("a[{}]", string(name)), kind: kind.into() })
    }

    fn cel(src: &str) -> (String, Vec<String>) {
        let mut t = Translator { lookup: &scope, warnings: Vec::new() };
        let out = t.translate(&parse(src).unwrap()).unwrap();
        (out, t.warnings)
    }

    #[test]
    fn conditions_translate_by_type() {
        assert_eq!(cel("amount > 1000").0, r#"a["amount"] > 1000.0"#);
        assert_eq!(cel("amount >= 0x10").0, r#"a["amount"] >= 16.0"#);
        assert_eq!(cel("delta < -5").0, r#"a["delta"] < -5.0"#);
        assert_eq!(
            cel("to == '0xAbC0000000000000000000000000000000000001'").0,
            r#"a["to"] == "0xabc0000000000000000000000000000000000001""#
        );
        assert_eq!(cel("memo contains 'Hello'").0, r#"a["memo"].lower().contains("hello")"#);
        assert_eq!(cel("data starts_with 0xA9").0, r#"a["data"].startsWith("0xa9")"#);
        assert_eq!(cel("flag == TRUE").0, r#"a["flag"] == true"#);
        assert_eq!(cel("ids contains '20'").0, r#"a["ids"].exists(v, v == 20.0)"#);
        assert_eq!(cel("owners contains 0xAB").0, r#"a["owners"].exists(v, v == "0xab")"#);
        assert_eq!(
            cel("amount > 1 AND (memo == x OR flag != false)").0,
            r#"(a["amount"] > 1.0 && (a["memo"].lower() == "x" || a["flag"] != false))"#
        );
    }

    #[test]
    fn errors_fail_the_condition_where_oz_reaches_them() {
        // An index: defined only when in range.
        assert_eq!(
            cel("ids[1] > 5").0,
            r#"(size(a["ids"]) > 1 && (size(a["ids"]) > 1 && a["ids"][1] > 5.0))"#
        );
        // A missing name: false whenever reached; OR short-circuits past it.
        let (out, warnings) = cel("amount > 1 OR nope == 2");
        assert_eq!(out, r#"a["amount"] > 1.0"#);
        assert_eq!(warnings.len(), 1);
        let (out, _) = cel("nope == 2 OR amount > 1");
        assert_eq!(out, "false");
        // AND: the right side's error matters only when the left is true.
        let (out, _) = cel("amount > 1 AND memo > 'a'");
        assert_eq!(out, "false");
        let (out, _) = cel("amount starts_with '1'");
        assert_eq!(out, "false");
    }

    #[test]
    fn constructs_without_equivalent_are_refused() {
        let mut t = Translator { lookup: &scope, warnings: Vec::new() };
        for src in ["pair contains 'x'", "ids == '[1,2]'", "dup == 1"] {
            assert!(t.translate(&parse(src).unwrap()).is_err(), "{src}");
        }
    }
}
