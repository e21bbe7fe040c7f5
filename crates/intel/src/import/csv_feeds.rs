//! CSV feeds: Forta labelled datasets and generic CSV lists.

use vigil_core::{Category, EvmAddress, Indicator};

use super::values;
use super::{ImportError, ImportOptions, Parsed, Staged, Ticker};

/// The three layouts of Forta's labelled datasets.
#[derive(Clone, Copy)]
enum FortaLayout {
    /// `banned_address,wallet_tag,data_source`
    EtherscanLabels { address: usize, tag: usize, data_source: usize },
    /// `contract_address,contract_tag,contract_creator,...`
    MaliciousContracts { address: usize, tag: usize },
    /// `address,etherscan_tag,etherscan_labels,is_contract`
    PhishingScams { address: usize, tag: usize },
}

fn header_names(rdr: &mut csv::Reader<&[u8]>) -> Result<Vec<String>, ImportError> {
    let headers = rdr.byte_headers().map_err(|e| csv_error(&e))?;
    Ok(headers
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h).trim().trim_start_matches('\u{feff}').to_ascii_lowercase()
        })
        .collect())
}

fn csv_error(e: &csv::Error) -> ImportError {
    let line = e.position().map_or(0, csv::Position::line);
    ImportError::Csv { line, message: e.to_string() }
}

fn column(names: &[String], wanted: &[&str]) -> Option<usize> {
    wanted.iter().find_map(|w| names.iter().position(|n| n == w))
}

/// A field of a record as text: `Ok(None)` when absent or blank, `Err` naming the column when
/// it is not UTF-8.
fn text<'r>(
    rec: &'r csv::ByteRecord,
    index: usize,
    names: &[String],
) -> Result<Option<&'r str>, String> {
    match rec.get(index) {
        None => Ok(None),
        Some(bytes) => {
            let s = std::str::from_utf8(bytes).map_err(|_| {
                format!("column {:?} is not UTF-8", names.get(index).map_or("?", String::as_str))
            })?;
            let s = s.trim();
            Ok((!s.is_empty()).then_some(s))
        }
    }
}

/// Walks the records of a CSV whose header was read, with line numbers and progress. Each
/// non-blank row counts as one record read; `row` stages what the row holds (a row with
/// several values adds to `read` for each one after the first) or names why the row is
/// rejected.
fn each_record(
    rdr: &mut csv::Reader<&[u8]>,
    names: &[String],
    ticker: &mut Ticker<'_>,
    staged: &mut Staged,
    mut row: impl FnMut(&csv::ByteRecord, u64, &mut Staged) -> Result<(), Rejected>,
) {
    let mut rec = csv::ByteRecord::new();
    loop {
        let line_before = rdr.position().line();
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                staged.read += 1;
                let line = e.position().map_or(line_before, csv::Position::line);
                staged.reject(line, "unreadable CSV record", format!("unreadable CSV record: {e}"));
                continue;
            }
        }
        let line = rec.position().map_or(line_before, csv::Position::line);
        let offset = rec.position().map_or(0, |p| p.byte() as usize);
        ticker.tick(offset);
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // blank line
        }
        staged.read += 1;
        if rec.len() != names.len() {
            staged.reject(
                line,
                "wrong number of fields",
                format!(
                    "expected {} fields ({}), found {}",
                    names.len(),
                    names.join(","),
                    rec.len()
                ),
            );
            continue;
        }
        match row(&rec, line, staged) {
            Ok(()) => {}
            Err(Rejected::Field(reason)) => staged.reject(line, "bad field", reason),
            Err(Rejected::Empty(reason)) => staged.reject(line, "row without an indicator", reason),
        }
    }
}

/// Why a CSV row was not imported.
enum Rejected {
    /// A field is empty, not UTF-8 or malformed (the reason names it).
    Field(String),
    /// The row has no value in any indicator column.
    Empty(String),
}

impl From<String> for Rejected {
    fn from(reason: String) -> Self {
        Self::Field(reason)
    }
}

fn evm_address(s: Option<&str>, what: &str, staged: &mut Staged) -> Result<EvmAddress, String> {
    let s = s.ok_or_else(|| format!("{what} is empty"))?;
    let address = s.parse::<EvmAddress>().map_err(|e| format!("{what} {:?}: {e}", truncate(s)))?;
    if EvmAddress::checksum_mismatch(s) {
        staged.warn(values::CHECKSUM_WARNING);
    }
    Ok(address)
}

pub(super) fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(80).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// Forta labelled datasets; the layout is recognised from the header.
pub(super) fn forta(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<Staged, ImportError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(input);
    let names = header_names(&mut rdr)?;
    let col = |n: &str| column(&names, &[n]);
    let layout = if let (Some(address), Some(tag), Some(data_source)) =
        (col("banned_address"), col("wallet_tag"), col("data_source"))
    {
        FortaLayout::EtherscanLabels { address, tag, data_source }
    } else if let (Some(address), Some(tag)) = (col("contract_address"), col("contract_tag")) {
        FortaLayout::MaliciousContracts { address, tag }
    } else if let (Some(address), Some(tag)) = (col("address"), col("etherscan_tag")) {
        FortaLayout::PhishingScams { address, tag }
    } else {
        return Err(ImportError::Columns {
            expected: "a Forta labelled dataset header: banned_address,wallet_tag,data_source or \
                       contract_address,contract_tag,... or address,etherscan_tag,..."
                .into(),
            found: names,
        });
    };
    let mut staged = Staged::default();
    let chain = options.chain;
    each_record(&mut rdr, &names.clone(), ticker, &mut staged, |rec, _, staged| {
        let (address, tag, category) = match layout {
            FortaLayout::EtherscanLabels { address, tag, data_source } => {
                let source = text(rec, data_source, &names)?.unwrap_or_default();
                let category = if source.contains("phish") {
                    Category::Phishing
                } else if source.contains("exploit") || source.contains("heist") {
                    Category::Exploit
                } else {
                    Category::Other
                };
                (address, tag, category)
            }
            FortaLayout::MaliciousContracts { address, tag } => {
                (address, tag, Category::MaliciousContract)
            }
            FortaLayout::PhishingScams { address, tag } => (address, tag, Category::Phishing),
        };
        let name = names[address].as_str();
        let address = evm_address(text(rec, address, &names)?, name, staged)?;
        staged.records.push(Parsed {
            indicator: Indicator::Address { chain, address },
            category,
            label: text(rec, tag, &names)?.map(str::to_owned),
            seen: None,
            confidence: None,
            valid_until: None,
        });
        Ok(())
    });
    Ok(staged)
}

/// Column names accepted for the indicator of a generic CSV.
const INDICATOR_COLUMNS: [&str; 15] = [
    "indicator",
    "indicators",
    "address",
    "addresses",
    "domain",
    "domains",
    "url",
    "urls",
    "value",
    "ioc",
    "host",
    "hosts",
    "hostname",
    "wallet",
    "wallets",
];
/// Column names accepted for a record's label.
const LABEL_COLUMNS: [&str; 6] = ["label", "tag", "name", "comment", "description", "title"];
/// Column names accepted for a record's category (the feed's own words are mapped).
const CATEGORY_COLUMNS: [&str; 3] = ["category", "threat", "threat_type"];

/// A generic CSV: either headerless (`indicator[,label[,category]]` per line) or with a header
/// naming indicator columns (`indicator`, `address`, `domain`, `url`, `value`, `ioc`, `host`,
/// `hostname`, `wallet`, or a plural of them; every one present is read, and a cell may list
/// several values) and optional label (`label`, `tag`, `name`, `comment`,
/// `description`, `title`), category (`category`, `threat`, `threat_type`: the feed's
/// words, mapped by the [`CategoryMap`](super::CategoryMap)) and `confidence` columns.
pub(super) fn generic(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<Staged, ImportError> {
    let first_field = {
        let mut probe =
            csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(input);
        let mut rec = csv::ByteRecord::new();
        match probe.read_byte_record(&mut rec) {
            Ok(true) => rec.get(0).map(|f| String::from_utf8_lossy(f).trim().to_owned()),
            Ok(false) => None,
            Err(e) => return Err(csv_error(&e)),
        }
    };
    let headerless = first_field.is_some_and(|f| {
        let mut probe = Staged::default();
        !matches!(values::classify(&f, None, &mut probe), Err(values::NotImported::Reject { .. }))
    });
    let mut rdr =
        csv::ReaderBuilder::new().flexible(true).has_headers(!headerless).from_reader(input);
    let names: Vec<String> = if headerless {
        let mut probe =
            csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(input);
        let mut rec = csv::ByteRecord::new();
        let width = match probe.read_byte_record(&mut rec) {
            Ok(true) => rec.len(),
            _ => 1,
        };
        ["indicator", "label", "category"]
            .iter()
            .take(width.clamp(1, 3))
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        header_names(&mut rdr)?
    };
    let indicator_cols: Vec<usize> =
        (0..names.len()).filter(|i| INDICATOR_COLUMNS.contains(&names[*i].as_str())).collect();
    if indicator_cols.is_empty() {
        return Err(ImportError::Columns {
            expected: format!("a column named one of {}", INDICATOR_COLUMNS.join(", ")),
            found: names,
        });
    }
    let columns_named =
        indicator_cols.iter().map(|i| names[*i].as_str()).collect::<Vec<_>>().join(", ");
    let label_col = column(&names, &LABEL_COLUMNS);
    let category_col = column(&names, &CATEGORY_COLUMNS);
    let confidence_col = column(&names, &["confidence", "score"]);
    let chain = options.chain;
    let mut staged = Staged::default();
    each_record(&mut rdr, &names.clone(), ticker, &mut staged, |rec, line, staged| {
        let mut cells = Vec::new();
        for &c in &indicator_cols {
            cells.extend(text(rec, c, &names)?);
        }
        // A cell may list several values (`0xa… 0xb…`, `a.io; b.io`).
        let tokens: Vec<&str> = cells
            .iter()
            .flat_map(|c| c.split(|ch: char| ch.is_whitespace() || ch == ';' || ch == '|'))
            .filter(|v| !v.is_empty())
            .collect();
        if tokens.is_empty() {
            return Err(Rejected::Empty(format!("no value in {columns_named}")));
        }
        let word = category_col.map(|c| text(rec, c, &names)).transpose()?.flatten();
        let confidence = match confidence_col.map(|c| text(rec, c, &names)).transpose()?.flatten() {
            Some(c) => Some(parse_confidence(c)?),
            None => None,
        };
        let label =
            label_col.map(|c| text(rec, c, &names)).transpose()?.flatten().map(str::to_owned);
        staged.read += tokens.len() as u64 - 1;
        for value in tokens {
            match values::classify(value, chain, staged) {
                Ok(indicator) => {
                    let category = options.categories.resolve(word, staged);
                    staged.records.push(Parsed {
                        indicator,
                        category,
                        label: label.clone(),
                        seen: None,
                        confidence,
                        valid_until: None,
                    });
                }
                Err(why) => staged.not_imported(line, why),
            }
        }
        Ok(())
    });
    Ok(staged)
}

/// Parses a 0–100 confidence.
pub(super) fn parse_confidence(s: &str) -> Result<u8, String> {
    s.parse::<u8>()
        .ok()
        .filter(|c| *c <= 100)
        .ok_or_else(|| format!("confidence {:?} must be an integer from 0 to 100", truncate(s)))
}
