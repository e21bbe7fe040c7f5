//! Importing STIX 2.1 bundles: every object is checked; indicators whose patterns name EVM
//! addresses, code hashes, selectors, transactions or domains go into the book.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use vigil_core::{Category, Indicator};

use super::{
    Bundle, Prop, StixObject, check_object, parse_envelope, parse_taxii_envelope, pattern,
};
use crate::book::IndicatorBook;
use crate::import::{
    FeedKind, ImportError, ImportOptions, ImportReport, LineIndex, Parsed, Progress, Staged,
    Ticker, apply,
};
use crate::time::Timestamp;

/// Why objects are skipped.
const NOTHING_TO_USE: &str = "objects that carry no indicator Vigil can match (other object types, revoked indicators, patterns over other observables)";

/// The result of importing a bundle: the report, and the bundle's valid objects (for a TAXII
/// collection or a round trip).
#[derive(Clone, Debug)]
pub struct StixImport {
    /// What the import did.
    pub report: ImportReport,
    /// The valid objects, in input order, under the input bundle's id.
    pub bundle: Bundle,
}

/// Imports a STIX bundle into the book (see [`crate::import`] for the guarantees) and returns
/// its valid objects too. `read` counts objects; one indicator object may carry several
/// indicators.
pub fn import_bundle(
    book: &mut IndicatorBook,
    input: &[u8],
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<StixImport, ImportError> {
    let mut ticker = Ticker::new(progress, input.len());
    let (staged, bundle) = stage(input, options, &mut ticker, true)?;
    ticker.finish();
    let source = options.source.clone().unwrap_or_else(|| FeedKind::Stix.as_str().to_owned());
    let report = apply(book, FeedKind::Stix, &source, options.seen, staged);
    Ok(StixImport {
        report,
        bundle: bundle.unwrap_or(Bundle { id: String::new(), objects: Vec::new() }),
    })
}

/// The properties of an object the import reads, borrowed from the input (the fast path when
/// the objects themselves are not kept). Non-string values where strings belong fail to
/// deserialise and the object is rejected, as the full check would.
#[derive(Deserialize)]
struct Lite<'a> {
    #[serde(rename = "type", borrow)]
    object_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    spec_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created: Option<Cow<'a, str>>,
    #[serde(borrow)]
    modified: Option<Cow<'a, str>>,
    #[serde(borrow)]
    valid_from: Option<Cow<'a, str>>,
    #[serde(borrow)]
    valid_until: Option<Cow<'a, str>>,
    #[serde(borrow)]
    published: Option<Cow<'a, str>>,
    #[serde(borrow)]
    first_seen: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_seen: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pattern: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pattern_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    revoked: Option<bool>,
    #[serde(default)]
    confidence: Option<Value>,
    #[serde(default, borrow)]
    labels: Option<Vec<Cow<'a, str>>>,
}

impl Lite<'_> {
    fn prop(&self, key: &str) -> Prop<'_> {
        let v = match key {
            "type" => &self.object_type,
            "id" => &self.id,
            "spec_version" => &self.spec_version,
            "created" => &self.created,
            "modified" => &self.modified,
            "valid_from" => &self.valid_from,
            "valid_until" => &self.valid_until,
            "published" => &self.published,
            "first_seen" => &self.first_seen,
            "last_seen" => &self.last_seen,
            "pattern" => &self.pattern,
            "pattern_type" => &self.pattern_type,
            _ => return Prop::Absent,
        };
        v.as_deref().map_or(Prop::Absent, Prop::Str)
    }
}

/// What the import needs of an indicator object.
struct View<'a> {
    object_type: &'a str,
    revoked: bool,
    pattern: Option<&'a str>,
    pattern_type: Option<&'a str>,
    created: Option<&'a str>,
    modified: Option<&'a str>,
    valid_until: Option<&'a str>,
    name: Option<&'a str>,
    confidence: Option<&'a Value>,
    labels: Vec<&'a str>,
}

impl<'a> View<'a> {
    fn of_object(o: &'a StixObject) -> Self {
        Self {
            object_type: o.object_type(),
            revoked: o.get("revoked") == Some(&Value::Bool(true)),
            pattern: o.str("pattern"),
            pattern_type: o.str("pattern_type"),
            created: o.str("created"),
            modified: o.str("modified"),
            valid_until: o.str("valid_until"),
            name: o.str("name"),
            confidence: o.get("confidence"),
            labels: o
                .get("labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect(),
        }
    }

    fn of_lite(l: &'a Lite<'a>) -> Self {
        Self {
            object_type: l.object_type.as_deref().unwrap_or_default(),
            revoked: l.revoked == Some(true),
            pattern: l.pattern.as_deref(),
            pattern_type: l.pattern_type.as_deref(),
            created: l.created.as_deref(),
            modified: l.modified.as_deref(),
            valid_until: l.valid_until.as_deref(),
            name: l.name.as_deref(),
            confidence: l.confidence.as_ref(),
            labels: l.labels.iter().flatten().map(|c| c.as_ref()).collect(),
        }
    }
}

/// What a page of a TAXII 2.1 collection says besides its objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvelopePage {
    /// The server has more objects for the same request.
    pub more: bool,
    /// The server's token for the next page, when it pages that way.
    pub next: Option<String>,
}

/// Imports the objects of a TAXII 2.1 envelope (`{"more", "next", "objects"}`: the answer of a
/// collection's objects endpoint) exactly as [`import_bundle`] imports a bundle's, and returns
/// what the envelope says about the next page. A bundle is taken as a last page.
pub fn import_envelope(
    book: &mut IndicatorBook,
    input: &[u8],
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(ImportReport, EnvelopePage), ImportError> {
    let mut ticker = Ticker::new(progress, input.len());
    let (page, raws) = parse_taxii_envelope(input, options.max_bytes)?;
    let (staged, _) = stage_objects(input, raws, String::new(), options, &mut ticker, false);
    ticker.finish();
    let source = options.source.clone().unwrap_or_else(|| FeedKind::Stix.as_str().to_owned());
    Ok((apply(book, FeedKind::Stix, &source, options.seen, staged), page))
}

/// Parses and checks a bundle into staged records; keeps the objects when `keep_objects`.
pub(crate) fn stage(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
    keep_objects: bool,
) -> Result<(Staged, Option<Bundle>), ImportError> {
    let (id, raws) = parse_envelope(input, options.max_bytes)?;
    Ok(stage_objects(input, raws, id, options, ticker, keep_objects))
}

/// Checks the objects `raws` of `input` into staged records.
fn stage_objects(
    input: &[u8],
    raws: Vec<&serde_json::value::RawValue>,
    id: String,
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
    keep_objects: bool,
) -> (Staged, Option<Bundle>) {
    let mut staged = Staged::default();
    let mut objects = Vec::with_capacity(if keep_objects { raws.len() } else { 0 });
    let mut lines = LineIndex::new(input);
    for (index, raw) in raws.into_iter().enumerate() {
        staged.read += 1;
        let line = lines.line_of(raw);
        ticker.tick(lines.offset_of(raw));
        let records = if keep_objects {
            let object = match serde_json::from_str::<Value>(raw.get())
                .map_err(|e| e.to_string())
                .and_then(|v| StixObject::from_value(v).map_err(|e| e.0))
            {
                Ok(o) => o,
                Err(reason) => {
                    staged.reject(line, "invalid STIX object", format!("object {index}: {reason}"));
                    continue;
                }
            };
            let records = indicator_records(&View::of_object(&object), options);
            objects.push(object);
            records
        } else {
            let lite = match serde_json::from_str::<Lite<'_>>(raw.get()) {
                Ok(l) => l,
                Err(e) => {
                    let reason = if raw.get().trim_start().starts_with('{') {
                        e.to_string()
                    } else {
                        "an object must be a JSON object".to_owned()
                    };
                    staged.reject(line, "invalid STIX object", format!("object {index}: {reason}"));
                    continue;
                }
            };
            if let Err(e) = check_object(|k| lite.prop(k)) {
                staged.reject(line, "invalid STIX object", format!("object {index}: {e}"));
                continue;
            }
            indicator_records(&View::of_lite(&lite), options)
        };
        match records {
            Some(records) => staged.records.extend(records),
            None => staged.skip(NOTHING_TO_USE),
        }
    }
    (staged, keep_objects.then_some(Bundle { id, objects }))
}

/// The records of one indicator object, or `None` when it carries nothing Vigil can use.
fn indicator_records(object: &View<'_>, options: &ImportOptions) -> Option<Vec<Parsed>> {
    if object.object_type != "indicator" || object.revoked {
        return None;
    }
    if object.pattern_type.is_some_and(|t| t != "stix") {
        return None;
    }
    let indicators = pattern::indicators_in(object.pattern?).ok()?;
    let time = |s: Option<&str>| s.and_then(|s| s.parse::<Timestamp>().ok());
    let seen = time(object.modified).or_else(|| time(object.created));
    let valid_until = time(object.valid_until);
    let confidence = object
        .confidence
        .and_then(Value::as_u64)
        .and_then(|c| u8::try_from(c).ok())
        .filter(|c| *c <= 100);
    let category = object
        .labels
        .iter()
        .find_map(|l| l.parse::<Category>().ok())
        .unwrap_or(options.categories.default_category());
    let label = object.name.map(str::to_owned);
    Some(
        indicators
            .into_iter()
            .map(|indicator| {
                let indicator = match indicator {
                    Indicator::Address { chain: None, address } => {
                        Indicator::Address { chain: options.chain, address }
                    }
                    other => other,
                };
                Parsed { indicator, category, label: label.clone(), seen, confidence, valid_until }
            })
            .collect(),
    )
}
