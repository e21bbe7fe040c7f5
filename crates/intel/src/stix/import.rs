//! Importing STIX 2.1 bundles: every object is checked; indicators whose patterns name EVM
//! addresses, code hashes, selectors, transactions or domains go into the book.

use serde_json::Value;
use vigil_core::Category;

use super::{Bundle, StixObject, parse_envelope, pattern};
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

/// Imports a STIX bundle into the book (see [`crate::import`] for the guarantees). `read`
/// counts objects; one indicator object may carry several indicators.
pub fn import_bundle(
    book: &mut IndicatorBook,
    input: &[u8],
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<StixImport, ImportError> {
    let mut ticker = Ticker::new(progress, input.len());
    let (staged, bundle) = stage(input, options, &mut ticker)?;
    ticker.finish();
    let source = options.source.clone().unwrap_or_else(|| FeedKind::Stix.as_str().to_owned());
    let report = apply(book, FeedKind::Stix, &source, options.seen, staged);
    Ok(StixImport { report, bundle })
}

pub(crate) fn stage(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<(Staged, Bundle), ImportError> {
    let (id, raws) = parse_envelope(input, options.max_bytes)?;
    let mut staged = Staged::default();
    let mut objects = Vec::with_capacity(raws.len());
    let mut lines = LineIndex::new(input);
    for (index, raw) in raws.into_iter().enumerate() {
        staged.read += 1;
        let line = lines.line_of(raw);
        ticker.tick(lines.offset_of(raw));
        let value: Value = match serde_json::from_str(raw.get()) {
            Ok(v) => v,
            Err(e) => {
                staged.reject(line, format!("object {index}: {e}"));
                continue;
            }
        };
        let object = match StixObject::from_value(value) {
            Ok(o) => o,
            Err(e) => {
                staged.reject(line, format!("object {index}: {e}"));
                continue;
            }
        };
        match indicator_records(&object, options) {
            Some(records) => staged.records.extend(records),
            None => staged.skip(NOTHING_TO_USE),
        }
        objects.push(object);
    }
    Ok((staged, Bundle { id, objects }))
}

/// The records of one indicator object, or `None` when it carries nothing Vigil can use.
fn indicator_records(object: &StixObject, options: &ImportOptions) -> Option<Vec<Parsed>> {
    if object.object_type() != "indicator" || object.get("revoked") == Some(&Value::Bool(true)) {
        return None;
    }
    if object.str("pattern_type").is_some_and(|t| t != "stix") {
        return None;
    }
    let indicators = pattern::indicators_in(object.str("pattern")?).ok()?;
    let time = |key: &str| object.str(key).and_then(|s| s.parse::<Timestamp>().ok());
    let seen = time("modified").or_else(|| time("created"));
    let confidence = object
        .get("confidence")
        .and_then(Value::as_u64)
        .and_then(|c| u8::try_from(c).ok())
        .filter(|c| *c <= 100);
    let category = object
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|l| l.parse::<Category>().ok())
        .unwrap_or(options.category);
    let label = object.str("name").map(str::to_owned);
    Some(
        indicators
            .into_iter()
            .map(|indicator| {
                let indicator = match indicator {
                    vigil_core::Indicator::Address { chain: None, address } => {
                        vigil_core::Indicator::Address { chain: options.chain, address }
                    }
                    other => other,
                };
                Parsed {
                    indicator,
                    category,
                    label: label.clone(),
                    seen,
                    confidence,
                    valid_until: time("valid_until"),
                }
            })
            .collect(),
    )
}
