//! OpenZeppelin Monitor's filter expressions, parsed as its documentation describes them:
//! conditions `lhs OP value` joined by `AND` / `OR` (AND binds tighter) and parentheses.
//!
//! - `lhs` is a base name (letters, digits, `_`; it may start with a digit) followed by
//!   accessors: `[index]` and `.key`;
//! - `OP` is `==`, `!=`, `>`, `>=`, `<`, `<=`, or the case-insensitive keywords `contains`,
//!   `starts_with`, `ends_with`;
//! - a value is a quoted string (`'…'` or `"…"`, with `\'` / `\"` and `\\` escapes), a
//!   boolean (`true`/`false`, any case), a hex string (`0x…`), a number (`-12`, `3.5`) or an
//!   unquoted word.

/// A literal on the right of a condition.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Literal {
    /// `true` / `false`.
    Bool(bool),
    /// A quoted or unquoted string, or a `0x…` hex string.
    Str(String),
    /// A number as written (`-12`, `3.5`).
    Number(String),
}

/// A comparison operator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `starts_with`
    StartsWith,
    /// `ends_with`
    EndsWith,
    /// `contains`
    Contains,
}

impl Op {
    /// As written in an expression.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::StartsWith => "starts_with",
            Op::EndsWith => "ends_with",
            Op::Contains => "contains",
        }
    }

    /// Whether it orders values (`>`, `>=`, `<`, `<=`).
    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Gt | Op::Gte | Op::Lt | Op::Lte)
    }
}

/// An accessor after the base name.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Accessor {
    /// `[n]`
    Index(usize),
    /// `.key`
    Key(String),
}

/// One condition.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Condition {
    /// The base name.
    pub base: String,
    /// Accessors after it.
    pub path: Vec<Accessor>,
    /// The operator.
    pub op: Op,
    /// The value compared with.
    pub value: Literal,
}

/// A parsed expression.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Expr {
    /// A condition.
    Condition(Condition),
    /// Both hold (evaluated left to right, short-circuiting).
    And(Box<Expr>, Box<Expr>),
    /// Either holds (evaluated left to right, short-circuiting).
    Or(Box<Expr>, Box<Expr>),
}

const KEYWORDS: [&str; 7] = ["true", "false", "and", "or", "contains", "starts_with", "ends_with"];

fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
}

/// Deepest nesting of parentheses accepted (the parser recurses once per level).
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

/// Parses `source`; the error says where and what was expected.
pub fn parse(source: &str) -> Result<Expr, String> {
    let mut p = Parser { src: source, pos: 0, depth: 0 };
    let e = p.or()?;
    p.space();
    if p.pos < p.src.len() {
        return Err(p.error("AND, OR or the end of the expression"));
    }
    Ok(e)
}

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn error(&self, expected: &str) -> String {
        let found: String = self.rest().chars().take(20).collect();
        if found.is_empty() {
            format!("expected {expected} at the end of the expression")
        } else {
            format!("expected {expected} at character {}, found {found:?}", self.pos + 1)
        }
    }

    fn space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.src.len() - trimmed.len();
    }

    /// A case-insensitive keyword, not followed by a word character.
    fn keyword(&mut self, kw: &str) -> bool {
        self.space();
        let rest = self.rest();
        let matches = rest.get(..kw.len()).is_some_and(|h| h.eq_ignore_ascii_case(kw))
            && !rest[kw.len()..].chars().next().is_some_and(word_char);
        if matches {
            self.pos += kw.len();
        }
        matches
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.term()?;
        while self.keyword("and") {
            let right = self.term()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, String> {
        self.space();
        if self.rest().starts_with('(') {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(format!("parentheses nest deeper than {MAX_DEPTH}"));
            }
            self.pos += 1;
            let e = self.or()?;
            self.space();
            if !self.rest().starts_with(')') {
                return Err(self.error("a closing parenthesis"));
            }
            self.pos += 1;
            self.depth -= 1;
            return Ok(e);
        }
        self.condition().map(Expr::Condition)
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        let len: usize = self.rest().chars().take_while(|c| f(*c)).map(char::len_utf8).sum();
        self.pos += len;
        &self.src[start..self.pos]
    }

    fn condition(&mut self) -> Result<Condition, String> {
        self.space();
        let base = self.take_while(word_char).to_owned();
        if base.is_empty() || is_keyword(&base) {
            return Err(self.error("a variable name"));
        }
        let mut path = Vec::new();
        loop {
            if self.rest().starts_with('[') {
                self.pos += 1;
                let digits = self.take_while(|c| c.is_ascii_digit()).to_owned();
                if digits.is_empty() || !self.rest().starts_with(']') {
                    return Err(self.error("an index like [0]"));
                }
                self.pos += 1;
                let i = digits.parse().map_err(|_| format!("index [{digits}] is too large"))?;
                path.push(Accessor::Index(i));
            } else if self.rest().starts_with('.') {
                self.pos += 1;
                let key = self.take_while(word_char).to_owned();
                if key.is_empty() {
                    return Err(self.error("a key after '.'"));
                }
                path.push(Accessor::Key(key));
            } else {
                break;
            }
        }
        let op = self.op()?;
        let value = self.literal()?;
        Ok(Condition { base, path, op, value })
    }

    fn op(&mut self) -> Result<Op, String> {
        for (kw, op) in [
            ("contains", Op::Contains),
            ("starts_with", Op::StartsWith),
            ("ends_with", Op::EndsWith),
        ] {
            if self.keyword(kw) {
                return Ok(op);
            }
        }
        self.space();
        for (sym, op) in [
            (">=", Op::Gte),
            ("<=", Op::Lte),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ] {
            if self.rest().starts_with(sym) {
                self.pos += sym.len();
                return Ok(op);
            }
        }
        Err(self.error("an operator (==, !=, >, >=, <, <=, contains, starts_with, ends_with)"))
    }

    fn literal(&mut self) -> Result<Literal, String> {
        self.space();
        let rest = self.rest();
        if let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            self.pos += 1;
            let mut out = String::new();
            let mut chars = self.rest().char_indices();
            while let Some((i, c)) = chars.next() {
                if c == quote {
                    self.pos += i + 1;
                    return Ok(Literal::Str(out));
                }
                if c == '\\' {
                    match chars.next() {
                        Some((_, e)) if e == quote || e == '\\' => out.push(e),
                        _ => return Err(format!("a string may escape only {quote} and \\")),
                    }
                } else {
                    out.push(c);
                }
            }
            return Err("a string literal is not closed".into());
        }
        let word = self.take_while(|c| word_char(c) || c == '-' || c == '+' || c == '.').to_owned();
        if word.is_empty() {
            return Err(self.error("a value"));
        }
        if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
            return Ok(Literal::Bool(word.eq_ignore_ascii_case("true")));
        }
        if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X"))
            && !hex.is_empty()
            && hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Ok(Literal::Str(word));
        }
        if is_number(&word) {
            return Ok(Literal::Number(word));
        }
        let unquoted = word.chars().all(|c| word_char(c) || c == '-')
            && !word.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-')
            && !is_keyword(&word);
        if unquoted {
            return Ok(Literal::Str(word));
        }
        Err(format!("{word:?} is not a number, a boolean or a string"))
    }
}

/// `[+-]digits[.digits]`.
fn is_number(w: &str) -> bool {
    let w = w.strip_prefix(['+', '-']).unwrap_or(w);
    let (int, frac) = match w.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (w, None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    digits(int) && frac.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(base: &str, op: Op, value: Literal) -> Expr {
        Expr::Condition(Condition { base: base.into(), path: vec![], op, value })
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let e = parse("a > 1 OR b == 'x' and c != true").unwrap();
        assert_eq!(
            e,
            Expr::Or(
                Box::new(cond("a", Op::Gt, Literal::Number("1".into()))),
                Box::new(Expr::And(
                    Box::new(cond("b", Op::Eq, Literal::Str("x".into()))),
                    Box::new(cond("c", Op::Ne, Literal::Bool(true)))
                ))
            )
        );
        let e = parse("(a >= -1.5 OR b CONTAINS foo_bar) AND c starts_with 0xA9").unwrap();
        let Expr::And(l, r) = e else { panic!("{e:?}") };
        assert!(matches!(*l, Expr::Or(..)));
        assert_eq!(*r, cond("c", Op::StartsWith, Literal::Str("0xA9".into())));
    }

    #[test]
    fn paths_strings_and_errors() {
        let e = parse(r#"ids[0] == 10 AND m.k_1 == 'it\'s' AND "s" == "s""#);
        assert!(e.is_err(), "a string cannot be on the left: {e:?}");
        let e = parse(r"ids[0].name == 'it\'s'").unwrap();
        assert_eq!(
            e,
            Expr::Condition(Condition {
                base: "ids".into(),
                path: vec![Accessor::Index(0), Accessor::Key("name".into())],
                op: Op::Eq,
                value: Literal::Str("it's".into()),
            })
        );
        for bad in ["", "a >", "a ~ 1", "(a == 1", "a == 1 b", "and == 1", "a == 'x", "a == 1.2.3"]
        {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&"(".repeat(100)).is_err());
    }
}
