//! Reading and writing the STIX patterns Vigil understands.
//!
//! Vigil writes patterns over its own cyber-observable types (see [`super::extension`]) and
//! reads back the simple shapes that carry indicators: observation expressions joined by `OR`,
//! each holding `=` comparisons joined by `OR`, or a value and a `chain_id` joined by `AND`.
//! Anything richer (`FOLLOWEDBY`, qualifiers, other operators) is reported as unusable rather
//! than guessed at.

use vigil_core::{B256, Domain, EvmAddress, EvmChainId, Indicator, Selector, WebUrl};

use super::extension::{ADDRESS_TYPE, CODE_HASH_TYPE, SELECTOR_TYPE, TRANSACTION_TYPE};

#[derive(Clone, PartialEq, Debug)]
enum Token {
    Open,
    Close,
    LParen,
    RParen,
    Str(String),
    Word(String),
    Op(String),
}

/// Splits a pattern into tokens; `Err` names the first thing that is not pattern syntax.
fn tokenize(pattern: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '[' => tokens.push(Token::Open),
            ']' => tokens.push(Token::Close),
            '(' => tokens.push(Token::LParen),
            ')' => tokens.push(Token::RParen),
            '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("unterminated string starting at {i}")),
                        Some((_, '\\')) => match chars.next() {
                            Some((_, e @ ('\'' | '\\'))) => s.push(e),
                            _ => return Err(format!("bad escape in string starting at {i}")),
                        },
                        Some((_, '\'')) => break,
                        Some((_, c)) => s.push(c),
                    }
                }
                tokens.push(Token::Str(s));
            }
            '=' | '!' | '<' | '>' => {
                let mut op = c.to_string();
                if let Some(&(_, n @ ('=' | '>'))) = chars.peek() {
                    op.push(n);
                    chars.next();
                }
                tokens.push(Token::Op(op));
            }
            _ => {
                let mut w = c.to_string();
                while let Some(&(_, n)) = chars.peek() {
                    if n.is_whitespace() || "[]()'=!<>".contains(n) {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    Ok(tokens)
}

/// One `object-type:property = value` comparison.
#[derive(Clone, PartialEq, Debug)]
struct Comparison {
    object_type: String,
    property: String,
    value: Token,
}

/// The indicators a pattern names. `Err` says why it names none Vigil can use.
pub fn indicators_in(pattern: &str) -> Result<Vec<Indicator>, String> {
    let tokens = tokenize(pattern)?;
    // Split into observation expressions; between them only OR (and grouping parentheses).
    let mut observations: Vec<Vec<Token>> = Vec::new();
    let mut current: Option<Vec<Token>> = None;
    for tok in tokens {
        if let Some(inner) = current.as_mut() {
            match tok {
                Token::Close => observations.push(current.take().unwrap_or_default()),
                Token::Open => return Err("nested '[' in an observation".into()),
                t => inner.push(t),
            }
            continue;
        }
        match tok {
            Token::Open => current = Some(Vec::new()),
            Token::LParen | Token::RParen => {}
            Token::Word(w) if w.eq_ignore_ascii_case("OR") => {}
            Token::Word(w) => return Err(format!("{w} between observations is not supported")),
            t => return Err(format!("unexpected {t:?} between observations")),
        }
    }
    if current.is_some() {
        return Err("unterminated observation expression".into());
    }
    if observations.is_empty() {
        return Err("no observation expression".into());
    }
    let mut found = Vec::new();
    let mut ignored = Vec::new();
    for obs in observations {
        let (comparisons, connectors) = comparisons_of(obs)?;
        let all_and = connectors.iter().all(|c| c == "AND");
        let all_or = connectors.iter().all(|c| c == "OR");
        if all_or {
            // An address is often given twice (Vigil's observable and the wallet convention):
            // check its EIP-55 checksum once.
            let mut previous: Option<(&str, Option<Indicator>)> = None;
            for c in &comparisons {
                let wallet_like =
                    matches!(c.object_type.as_str(), ADDRESS_TYPE | "cryptocurrency-wallet");
                let reuse = match (&previous, string_value(c)) {
                    (Some((v, ind)), Some(value)) if wallet_like && *v == value => {
                        Some(ind.clone())
                    }
                    _ => None,
                };
                let ind = match reuse {
                    Some(ind) => ind,
                    None => single(c),
                };
                if wallet_like && let Some(value) = string_value(c) {
                    previous = Some((value, ind.clone()));
                }
                match ind {
                    Some(ind) => found.push(ind),
                    None => ignored.push(format!("{}:{}", c.object_type, c.property)),
                }
            }
        } else if all_and {
            match joint(&comparisons) {
                Some(ind) => found.push(ind),
                None => return Err("AND of comparisons Vigil cannot express".into()),
            }
        } else {
            return Err("mixed AND/OR inside an observation is not supported".into());
        }
    }
    found.sort();
    found.dedup();
    if found.is_empty() {
        ignored.dedup();
        return Err(format!("pattern names nothing Vigil can match ({})", ignored.join(", ")));
    }
    Ok(found)
}

/// The comparisons of one observation expression and the connectors between them.
fn comparisons_of(tokens: Vec<Token>) -> Result<(Vec<Comparison>, Vec<String>), String> {
    let mut comparisons = Vec::new();
    let mut connectors = Vec::new();
    let mut it = tokens.into_iter().filter(|t| !matches!(t, Token::LParen | Token::RParen));
    loop {
        let Some(Token::Word(path)) = it.next() else {
            return Err("expected object-type:property".into());
        };
        let (object_type, property) =
            path.split_once(':').ok_or_else(|| format!("{path:?} is not object-type:property"))?;
        match it.next() {
            Some(Token::Op(op)) if op == "=" => {}
            Some(Token::Op(op)) => return Err(format!("operator {op} is not supported")),
            Some(Token::Word(w)) => return Err(format!("operator {w} is not supported")),
            other => return Err(format!("expected an operator, found {other:?}")),
        }
        let value = it.next().ok_or("missing value")?;
        comparisons.push(Comparison {
            object_type: object_type.to_owned(),
            property: property.to_owned(),
            value,
        });
        match it.next() {
            None => break,
            Some(Token::Word(w)) if w == "AND" || w == "OR" => connectors.push(w),
            Some(other) => return Err(format!("unexpected {other:?} after a comparison")),
        }
    }
    Ok((comparisons, connectors))
}

fn string_value(c: &Comparison) -> Option<&str> {
    match &c.value {
        Token::Str(s) => Some(s),
        _ => None,
    }
}

/// The indicator one comparison names on its own.
fn single(c: &Comparison) -> Option<Indicator> {
    let v = string_value(c)?;
    match (c.object_type.as_str(), c.property.as_str()) {
        (ADDRESS_TYPE, "value") => Some(Indicator::address(v.parse::<EvmAddress>().ok()?)),
        ("cryptocurrency-wallet", "value" | "address") => {
            Some(Indicator::address(v.parse::<EvmAddress>().ok()?))
        }
        (CODE_HASH_TYPE, "value") => Some(Indicator::CodeHash(v.parse::<B256>().ok()?)),
        (SELECTOR_TYPE, "value") => Some(Indicator::Selector(v.parse::<Selector>().ok()?)),
        ("domain-name", "value") => Some(Indicator::Domain(v.parse::<Domain>().ok()?)),
        ("url", "value") => Some(Indicator::Url(v.parse::<WebUrl>().ok()?)),
        _ => None,
    }
}

/// The indicator named by `value AND chain_id` comparisons on one object.
fn joint(cs: &[Comparison]) -> Option<Indicator> {
    let [a, b] = cs else { return None };
    let (value, chain) = if a.property == "chain_id" { (b, a) } else { (a, b) };
    if value.object_type != chain.object_type || chain.property != "chain_id" {
        return None;
    }
    let chain = match &chain.value {
        Token::Word(n) => EvmChainId(n.parse().ok()?),
        _ => return None,
    };
    let v = string_value(value)?;
    match (value.object_type.as_str(), value.property.as_str()) {
        (ADDRESS_TYPE, "value") => {
            Some(Indicator::Address { chain: Some(chain), address: v.parse().ok()? })
        }
        (TRANSACTION_TYPE, "hash") => Some(Indicator::TxHash { chain, hash: v.parse().ok()? }),
        _ => None,
    }
}

/// Quotes a string for a pattern.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The STIX pattern of an indicator. With `wallet_convention`, an address pattern also matches
/// the common `cryptocurrency-wallet:value` observable that consumers such as OpenCTI use.
pub fn pattern_of(indicator: &Indicator, wallet_convention: bool) -> String {
    match indicator {
        Indicator::Address { chain: None, address } => {
            let a = quote(&address.to_string());
            if wallet_convention {
                format!("[{ADDRESS_TYPE}:value = {a}] OR [cryptocurrency-wallet:value = {a}]")
            } else {
                format!("[{ADDRESS_TYPE}:value = {a}]")
            }
        }
        Indicator::Address { chain: Some(chain), address } => format!(
            "[{ADDRESS_TYPE}:value = {} AND {ADDRESS_TYPE}:chain_id = {chain}]",
            quote(&address.to_string())
        ),
        Indicator::CodeHash(h) => format!("[{CODE_HASH_TYPE}:value = {}]", quote(&h.to_string())),
        Indicator::Selector(s) => format!("[{SELECTOR_TYPE}:value = {}]", quote(&s.to_string())),
        Indicator::Domain(d) => format!("[domain-name:value = {}]", quote(d.as_str())),
        Indicator::Url(u) => format!("[url:value = {}]", quote(u.as_str())),
        Indicator::TxHash { chain, hash } => format!(
            "[{TRANSACTION_TYPE}:hash = {} AND {TRANSACTION_TYPE}:chain_id = {chain}]",
            quote(&hash.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(s: &str) -> Indicator {
        s.parse().unwrap()
    }

    #[test]
    fn every_indicator_kind_round_trips_through_its_pattern() {
        for text in [
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
            "eip155:10:0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
            "codehash:0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
            "selector:0x42b0b77c",
            "evil.example.com",
            "https://opensae.io/login?ref='x'",
            "tx:1:0x0000000000000000000000000000000000000000000000000000000000000001",
        ] {
            let i = ind(text);
            for wallet in [false, true] {
                assert_eq!(indicators_in(&pattern_of(&i, wallet)), Ok(vec![i.clone()]), "{text}");
            }
        }
    }

    #[test]
    fn common_shapes_of_other_producers() {
        assert_eq!(
            indicators_in("[domain-name:value = 'e.ct.toh.info' OR ipv4-addr:value = '1.2.3.4']"),
            Ok(vec![ind("e.ct.toh.info")])
        );
        assert_eq!(
            indicators_in(
                "[cryptocurrency-wallet:address = '0x098b716b8aaf21512996dc57eb0615e2383e2f96']"
            ),
            Ok(vec![ind("0x098b716b8aaf21512996dc57eb0615e2383e2f96")])
        );
        assert!(
            indicators_in("[ipv4-addr:value = '10.0.0.0']")
                .unwrap_err()
                .contains("ipv4-addr:value")
        );
        assert!(indicators_in("[file:name = 'a'] FOLLOWEDBY [file:name = 'b']").is_err());
        assert!(indicators_in("[domain-name:value LIKE '%.com']").is_err());
        assert!(indicators_in("[domain-name:value = 'x.com'").is_err());
        assert!(indicators_in("[domain-name:value = 'x.com\\']").is_err());
    }

    #[test]
    fn quotes_are_escaped() {
        assert_eq!(quote("a'b\\c"), "'a\\'b\\\\c'");
        assert_eq!(tokenize(&quote("a'b\\c")).unwrap(), vec![Token::Str("a'b\\c".into())]);
    }

    proptest::proptest! {
        #[test]
        fn tokenizer_never_panics(s in "\\PC{0,80}") {
            let _ = indicators_in(&s);
        }
    }
}
