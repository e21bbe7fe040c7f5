//! CSV feeds: Forta labelled datasets and generic CSV lists.

use vigil_core::{Category, EvmAddress, Indicator};

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

/// Walks the records of a CSV whose header was read, with line numbers and progress; `row`
/// turns one record into a parsed record or a rejection reason.
fn each_record(
    rdr: &mut csv::Reader<&[u8]>,
    names: &[String],
    ticker: &mut Ticker<'_>,
    staged: &mut Staged,
    mut row: impl FnMut(&csv::ByteRecord) -> Result<Option<Parsed>, String>,
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
                staged.reject(line, format!("unreadable CSV record: {e}"));
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
                format!(
                    "expected {} fields ({}), found {}",
                    names.len(),
                    names.join(","),
                    rec.len()
                ),
            );
            continue;
        }
        match row(&rec) {
            Ok(Some(parsed)) => staged.records.push(parsed),
            Ok(None) => {}
            Err(reason) => staged.reject(line, reason),
        }
    }
}

fn evm_address(s: Option<&str>, what: &str) -> Result<EvmAddress, String> {
    let s = s.ok_or_else(|| format!("{what} is empty"))?;
    s.parse::<EvmAddress>().map_err(|e| format!("{what} {:?}: {e}", truncate(s)))
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
    each_record(&mut rdr, &names.clone(), ticker, &mut staged, |rec| {
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
        let address = evm_address(text(rec, address, &names)?, name)?;
        Ok(Some(Parsed {
            indicator: Indicator::Address { chain, address },
            category,
            label: text(rec, tag, &names)?.map(str::to_owned),
            seen: None,
            confidence: None,
            valid_until: None,
        }))
    });
    Ok(staged)
}

/// Column names accepted for the indicator of a generic CSV.
const INDICATOR_COLUMNS: [&str; 6] = ["indicator", "address", "domain", "value", "ioc", "host"];

/// A generic CSV: either headerless (`indicator[,label[,category]]` per line) or with a header
/// naming an indicator column (`indicator`, `address`, `domain`, `value`, `ioc` or `host`) and
/// optional `label`/`tag`/`name`, `category` and `confidence` columns.
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
    let headerless = first_field.is_some_and(|f| f.parse::<Indicator>().is_ok());
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
    let Some(ind_col) = column(&names, &INDICATOR_COLUMNS) else {
        return Err(ImportError::Columns {
            expected: format!("a column named one of {}", INDICATOR_COLUMNS.join(", ")),
            found: names,
        });
    };
    let label_col = column(&names, &["label", "tag", "name"]);
    let category_col = column(&names, &["category"]);
    let confidence_col = column(&names, &["confidence"]);
    let default_category = options.category;
    let chain = options.chain;
    let mut staged = Staged::default();
    each_record(&mut rdr, &names.clone(), ticker, &mut staged, |rec| {
        let value =
            text(rec, ind_col, &names)?.ok_or_else(|| format!("{} is empty", names[ind_col]))?;
        let indicator = parse_indicator(value, chain)?;
        let category = match category_col.map(|c| text(rec, c, &names)).transpose()?.flatten() {
            Some(c) => c.parse::<Category>().map_err(|e| e.to_string())?,
            None => default_category,
        };
        let confidence = match confidence_col.map(|c| text(rec, c, &names)).transpose()?.flatten() {
            Some(c) => Some(parse_confidence(c)?),
            None => None,
        };
        let label =
            label_col.map(|c| text(rec, c, &names)).transpose()?.flatten().map(str::to_owned);
        Ok(Some(Parsed { indicator, category, label, seen: None, confidence, valid_until: None }))
    });
    Ok(staged)
}

/// Parses an indicator of a generic list; an address without a chain gets the feed's chain.
pub(super) fn parse_indicator(
    value: &str,
    chain: Option<vigil_core::EvmChainId>,
) -> Result<Indicator, String> {
    let indicator: Indicator = match value.parse() {
        Ok(i) => i,
        // A domain that starts with "0x" (0xproject.co) reads as a bad hex value first.
        Err(e) => match value.parse::<vigil_core::Domain>() {
            Ok(d) if value.contains('.') => Indicator::Domain(d),
            _ => return Err(format!("{:?} is not an indicator: {e}", truncate(value))),
        },
    };
    Ok(match indicator {
        Indicator::Address { chain: None, address } => Indicator::Address { chain, address },
        other => other,
    })
}

/// Parses a 0–100 confidence.
pub(super) fn parse_confidence(s: &str) -> Result<u8, String> {
    s.parse::<u8>()
        .ok()
        .filter(|c| *c <= 100)
        .ok_or_else(|| format!("confidence {:?} must be an integer from 0 to 100", truncate(s)))
}
