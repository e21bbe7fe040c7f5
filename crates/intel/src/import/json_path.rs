//! Where a generic JSON feed keeps its values: a small subset of JSONPath.
//!
//! A path is steps separated by dots, optionally after `$`:
//!
//! | step | selects |
//! |---|---|
//! | `name` or `["name"]` | the member `name` of an object |
//! | `[]` or `[*]` | every item of an array |
//! | `*` in the middle | every member value of an object |
//! | `*` at the end | every member *name* of an object (an object keyed by indicators) |
//!
//! `domains` selects the array under `domains` (an array at the end stands for its items);
//! `*` the names of an object mapping a domain to its addresses; `*.[]` those addresses;
//! `result.*.[].address` the `address` of each object in each array of `result`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// One step of a [`JsonPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Member(String),
    Items,
    Values,
}

/// A parsed value path (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<Step>,
    /// A final `*`: select member names instead of values.
    names: bool,
    text: String,
}

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "JSON path {path:?}: {why} (steps are names, [] for array items and * for object members, \
     e.g. domains, *, *.[] or result.[].address)"
)]
pub struct JsonPathError {
    /// The path as given.
    pub path: String,
    /// What is wrong.
    pub why: String,
}

impl FromStr for JsonPath {
    type Err = JsonPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| JsonPathError { path: s.to_owned(), why: why.to_owned() };
        let mut rest = s.trim();
        rest = rest.strip_prefix('$').unwrap_or(rest);
        let mut steps = Vec::new();
        while !rest.is_empty() {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            if let Some(r) = rest.strip_prefix("[]").or_else(|| rest.strip_prefix("[*]")) {
                steps.push(Step::Items);
                rest = r;
            } else if let Some(r) = rest.strip_prefix("[\"").or_else(|| rest.strip_prefix("['")) {
                let quote = if rest.starts_with("[\"") { "\"]" } else { "']" };
                let end = r.find(quote).ok_or_else(|| err("unclosed quoted name"))?;
                steps.push(Step::Member(r[..end].to_owned()));
                rest = &r[end + 2..];
            } else if let Some(r) = rest.strip_prefix('*') {
                steps.push(Step::Values);
                rest = r;
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let name = &rest[..end];
                if name.is_empty() {
                    return Err(err("empty step"));
                }
                steps.push(Step::Member(name.to_owned()));
                rest = &rest[end..];
            }
        }
        let names = steps.last() == Some(&Step::Values);
        if names {
            steps.pop();
        }
        if steps.is_empty() && !names {
            return Err(err("the path is empty"));
        }
        Ok(Self { steps, names, text: s.trim().to_owned() })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The members of a JSON object in input order, values left raw (borrowed from the input).
pub(crate) struct Members<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The members of `raw` when it is an object.
pub(crate) fn members(raw: &RawValue) -> Option<Members<'_>> {
    raw.get().starts_with('{').then(|| serde_json::from_str(raw.get()).ok()).flatten()
}

/// The items of `raw` when it is an array.
pub(crate) fn items(raw: &RawValue) -> Option<Vec<&RawValue>> {
    raw.get().starts_with('[').then(|| serde_json::from_str(raw.get()).ok()).flatten()
}

/// A value a path selected.
pub(crate) enum Found<'a> {
    /// A JSON value (a string, an object, or anything else to reject), with the member name
    /// it sits under when the path went through `*` (a domain for its addresses).
    Value { raw: &'a RawValue, under: Option<Cow<'a, str>> },
    /// A member name (a path ending in `*`), with its value for metadata and the line.
    Name { name: Cow<'a, str>, value: &'a RawValue },
}

impl JsonPath {
    /// Every value the path selects in `root`, in input order; `missing` counts the places
    /// where a step found no such member or the wrong type.
    pub(crate) fn select<'a>(&self, root: &'a RawValue, missing: &mut u64) -> Vec<Found<'a>> {
        let mut current: Vec<(&'a RawValue, Option<Cow<'a, str>>)> = vec![(root, None)];
        for step in &self.steps {
            let mut next = Vec::new();
            for (raw, under) in current {
                match step {
                    Step::Member(name) => match members(raw) {
                        Some(m) => match m.0.into_iter().find(|(k, _)| k == name) {
                            Some((_, v)) => next.push((v, under)),
                            None => *missing += 1,
                        },
                        None => *missing += 1,
                    },
                    Step::Items => match items(raw) {
                        Some(list) => next.extend(list.into_iter().map(|v| (v, under.clone()))),
                        None => *missing += 1,
                    },
                    Step::Values => match members(raw) {
                        Some(m) => next.extend(m.0.into_iter().map(|(k, v)| (v, Some(k)))),
                        None => *missing += 1,
                    },
                }
            }
            current = next;
        }
        let mut out = Vec::new();
        for (raw, under) in current {
            if self.names {
                match members(raw) {
                    Some(m) => {
                        out.extend(m.0.into_iter().map(|(name, value)| Found::Name { name, value }))
                    }
                    None => *missing += 1,
                }
            } else if let Some(list) = items(raw) {
                // An array at the end stands for its items.
                out.extend(list.into_iter().map(|raw| Found::Value { raw, under: under.clone() }));
            } else {
                out.push(Found::Value { raw, under });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(path: &str, json: &str) -> Vec<String> {
        let root: &RawValue = serde_json::from_str(json).unwrap();
        let mut missing = 0;
        path.parse::<JsonPath>()
            .unwrap()
            .select(root, &mut missing)
            .into_iter()
            .map(|f| match f {
                Found::Value { raw, under } => {
                    format!("{}@{}", raw.get(), under.unwrap_or_default())
                }
                Found::Name { name, .. } => format!("name:{name}"),
            })
            .collect()
    }

    #[test]
    fn paths_select_members_items_names_and_values() {
        let doc = r#"{"a.io": ["0x1", "0x2"], "b.io": ["0x3"]}"#;
        assert_eq!(strings("*", doc), ["name:a.io", "name:b.io"]);
        assert_eq!(strings("*.[]", doc), ["\"0x1\"@a.io", "\"0x2\"@a.io", "\"0x3\"@b.io"]);
        assert_eq!(strings("$.*[*]", doc), strings("*.[]", doc));
        let doc = r#"{"domains": ["x.io", "y.io"], "n": 1}"#;
        assert_eq!(strings("domains", doc), ["\"x.io\"@", "\"y.io\"@"]);
        assert_eq!(strings("['domains'][]", doc), strings("domains", doc));
        let doc = r#"{"result": [{"address": "0x1"}, {"other": 2}]}"#;
        assert_eq!(strings("result.[].address", doc), ["\"0x1\"@"]);
    }

    #[test]
    fn bad_paths_say_what_is_wrong() {
        for bad in ["", "$", "a..b", "[\"a"] {
            let e = bad.parse::<JsonPath>().unwrap_err();
            assert!(e.to_string().contains("JSON path"), "{e}");
        }
    }
}
