//! Description templates: text with CEL expressions between `{{` and `}}`, compiled at load.

use cel_interpreter::Value;
use cel_parser::ast::IdedExpr;

use super::activation::display;

#[derive(Debug)]
enum Part {
    Text(String),
    Expr(IdedExpr, String),
}

/// A compiled description template.
#[derive(Debug)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Compiles `source`; an unclosed `{{` or a bad expression is an error.
    pub(crate) fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| {
                format!("unclosed {{{{ at byte {}", source.len() - rest.len() + start)
            })?;
            let src = after[..end].trim();
            let expr = super::compile(src).map_err(|e| format!("in {{{{{src}}}}}: {e}"))?;
            parts.push(Part::Expr(expr, src.to_owned()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// The expressions it holds.
    pub(crate) fn expressions(&self) -> impl Iterator<Item = &IdedExpr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e, _) => Some(e),
            Part::Text(_) => None,
        })
    }

    /// Renders with `eval`; an expression that fails shows as `<error: …>`.
    pub(crate) fn render(
        &self,
        mut eval: impl FnMut(&IdedExpr) -> Result<Value, String>,
    ) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e, src) => match eval(e) {
                    Ok(v) => out.push_str(&display(&v)),
                    Err(err) => out.push_str(&format!("<error in {src}: {err}>")),
                },
            }
        }
        out
    }
}
