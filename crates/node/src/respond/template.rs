//! Message templates of alert channels: text with `${variable}` placeholders, checked when the
//! configuration loads (an unknown variable or an unclosed `${` is an error naming it) and
//! rendered per incident. `$$` is a literal `$`.
//!
//! | variable | value |
//! |---|---|
//! | `tx.hash`, `tx.from`, `tx.to`, `tx.chain`, `tx.block` | the alert's transaction (`tx.block` is empty while pending) |
//! | `stage` | `pending` or `mined` |
//! | `link` | the node's view of the alert (`GET /v1/alerts/{id}`) |
//! | `alert.id`, `alert.detector`, `alert.rule`, `alert.severity`, `alert.kind`, `alert.confidence`, `alert.description` | the alert (`alert.rule` is the rule's name for `rule:` detectors) |
//! | `alert.addresses`, `alert.labels` | comma-separated lists |
//! | `alert.peer` | `local`, or the peer that forwarded the alert |
//! | `metadata.KEY` | one value of the alert's metadata (empty when absent) |
//! | `family`, `summary` | the incident family (`alert`, `breaker`, `verdict`) and a one-line summary |
//! | `protocol`, `height` | the protocol (breaker incidents) and the ledger height (breaker and verdict) |
//!
//! Variables that do not apply to an incident render empty.

use std::fmt;

/// A variable a template may name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Var {
    /// `tx.hash`.
    TxHash,
    /// `tx.from`.
    TxFrom,
    /// `tx.to`.
    TxTo,
    /// `tx.chain`.
    TxChain,
    /// `tx.block`.
    TxBlock,
    /// `stage`.
    Stage,
    /// `link`.
    Link,
    /// `alert.id`.
    AlertId,
    /// `alert.detector`.
    Detector,
    /// `alert.rule`.
    Rule,
    /// `alert.severity`.
    Severity,
    /// `alert.kind`.
    Kind,
    /// `alert.confidence`.
    Confidence,
    /// `alert.description`.
    Description,
    /// `alert.addresses`.
    Addresses,
    /// `alert.labels`.
    Labels,
    /// `alert.peer`.
    Peer,
    /// `metadata.KEY`.
    Metadata(String),
    /// `family`.
    Family,
    /// `summary`.
    Summary,
    /// `protocol`.
    Protocol,
    /// `height`.
    Height,
}

const NAMES: [(&str, Var); 21] = [
    ("tx.hash", Var::TxHash),
    ("tx.from", Var::TxFrom),
    ("tx.to", Var::TxTo),
    ("tx.chain", Var::TxChain),
    ("tx.block", Var::TxBlock),
    ("stage", Var::Stage),
    ("link", Var::Link),
    ("alert.id", Var::AlertId),
    ("alert.detector", Var::Detector),
    ("alert.rule", Var::Rule),
    ("alert.severity", Var::Severity),
    ("alert.kind", Var::Kind),
    ("alert.confidence", Var::Confidence),
    ("alert.description", Var::Description),
    ("alert.addresses", Var::Addresses),
    ("alert.labels", Var::Labels),
    ("alert.peer", Var::Peer),
    ("family", Var::Family),
    ("summary", Var::Summary),
    ("protocol", Var::Protocol),
    ("height", Var::Height),
];

impl Var {
    fn parse(name: &str) -> Option<Self> {
        if let Some(key) = name.strip_prefix("metadata.") {
            return (!key.is_empty()).then(|| Var::Metadata(key.to_owned()));
        }
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    }
}

/// Why a template was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `${name}` names no variable.
    #[error("unknown variable ${{{name}}} (known: {known}, metadata.KEY)")]
    Unknown {
        /// The name.
        name: String,
        /// The known names.
        known: String,
    },
    /// A `${` without its `}`.
    #[error("unclosed ${{ at byte {at}")]
    Unclosed {
        /// Where it starts.
        at: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                literal.push('$');
                offset += i + 2;
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('{') {
                let end = tail.find('}').ok_or(TemplateError::Unclosed { at: offset + i })?;
                let name = tail[..end].trim();
                let var = Var::parse(name).ok_or_else(|| TemplateError::Unknown {
                    name: name.to_owned(),
                    known: NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
                })?;
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Var(var));
                offset += i + 2 + end + 1;
                rest = &tail[end + 1..];
            } else {
                literal.push('$');
                offset += i + 1;
                rest = after;
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// The text with each variable replaced by `value(variable)`.
    pub fn render(&self, value: impl Fn(&Var) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(&value(v)),
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(t) => f.write_str(&t.replace('$', "$$"))?,
                Part::Var(Var::Metadata(key)) => write!(f, "${{metadata.{key}}}")?,
                Part::Var(v) => {
                    let name = NAMES.iter().find(|(_, n)| n == v).map(|(n, _)| *n).unwrap_or("");
                    write!(f, "${{{name}}}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Template {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> String {
        Template::parse(text).unwrap().render(|v| match v {
            Var::TxHash => "0xabc".into(),
            Var::Metadata(k) => format!("<{k}>"),
            _ => "?".into(),
        })
    }

    #[test]
    fn variables_are_replaced_and_dollars_kept() {
        assert_eq!(render("tx ${tx.hash} costs $5, $${x}"), "tx 0xabc costs $5, ${x}");
        assert_eq!(render("${ metadata.value }!"), "<value>!");
        assert_eq!(render(""), "");
        assert_eq!(render("end $"), "end $");
    }

    #[test]
    fn unknown_and_unclosed_are_named() {
        let e = Template::parse("a ${transaction.hash}").unwrap_err().to_string();
        assert!(e.contains("${transaction.hash}") && e.contains("tx.hash"), "{e}");
        assert_eq!(Template::parse("ab ${tx.hash"), Err(TemplateError::Unclosed { at: 3 }));
        assert!(Template::parse("${metadata.}").is_err());
    }

    #[test]
    fn a_template_prints_back_to_itself() {
        for text in ["${tx.hash} $$5 ${metadata.a.b}", "plain", "${link}${stage}"] {
            let t = Template::parse(text).unwrap();
            assert_eq!(Template::parse(&t.to_string()).unwrap(), t);
        }
    }
}
