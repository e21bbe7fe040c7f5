//! `vigil feed …`: import threat-intelligence feeds into a running node's indicator book, have
//! it pull a TAXII 2.1 collection, list its sources, and publish a source to the ledger as
//! signed reports.
//!
//! An import parses the file here, with a progress bar, into a book of its own; only when the
//! whole file parses does it send that book to the node (`POST /v1/intel/imports`, with the
//! node's admin token), which merges it atomically. A file that does not parse changes nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use vigil_core::{Amount, Category, EvmChainId, Report, Severity, TxBody};
use vigil_intel::{
    BookBytes, CategoryMap, FeedKind, ImportOptions, IndicatorBook, JsonPath, Timestamp,
};
use vigil_node::client::Client;
use vigil_node::intel::pull::{PullReport, PullRequest};
use vigil_node::intel::{ImportOutcome, ImportRequest};

use super::ledger::{SendArgs, print_json};

/// Rejections printed in text mode (all listed ones are in `--json`).
const SHOWN_REJECTIONS: usize = 20;

#[derive(Subcommand)]
pub enum FeedCommand {
    /// Import a feed file into the node's indicator book (re-importing changes nothing).
    ///
    /// Generic feeds (csv, json, text) take the feed's own category words through
    /// --map-category; a JSON file's shape is detected, or named with --path. README.md
    /// ("Formats") shows each format with an example.
    Import {
        /// forta, ofac, metamask, csv, json, stix, text (one value a line) or misp (events).
        kind: FeedKind,
        /// The feed file (for misp, also a MISP feed directory: manifest.json and event files).
        path: PathBuf,
        /// Source name recorded on every indicator (default: the kind, e.g. `ofac`).
        #[arg(long)]
        source: Option<String>,
        /// EVM chain id of the feed's addresses (default: every chain).
        #[arg(long)]
        chain: Option<u64>,
        /// Category of records that name none, or whose category word is not known
        /// (default: other).
        #[arg(long, visible_alias = "category", value_name = "CATEGORY")]
        default_category: Option<Category>,
        /// Map the feed's own category word to a Vigil category, e.g. `Scamming=scam`
        /// (case-insensitive; repeatable). Vigil's names and common synonyms need no mapping.
        #[arg(long, value_name = "FROM=TO")]
        map_category: Vec<String>,
        /// Where a JSON feed keeps its values, e.g. `domains`, `'*'` (an object's keys),
        /// `'*.[]'` (the values of each key), `result.[].address` (repeatable; detected from
        /// the common shapes when absent).
        #[arg(long = "path", value_name = "PATH")]
        json_path: Vec<JsonPath>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Pull STIX 2.1 indicators from a TAXII 2.1 collection into the node's book: paged, and
    /// incremental (only what the collection added since this source's last pull; a pull that
    /// was interrupted resumes after its last merged page).
    ///
    /// The node makes the requests (`POST /v1/intel/pulls`); `[[intel.pull]]` in its
    /// configuration pulls on a schedule.
    Pull {
        /// The server's API root, e.g. https://taxii.example/api1/.
        #[arg(long, value_name = "URL")]
        taxii: String,
        /// The collection's id.
        #[arg(long, value_name = "ID")]
        collection: String,
        /// User name for HTTP Basic authentication.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Environment variable holding the password (sent to the node, which sends it only
        /// to the TAXII server).
        #[arg(long, value_name = "VAR", requires = "user")]
        password_env: Option<String>,
        /// Source name recorded on every indicator (default taxii:<host>/<collection>); the
        /// cursor is kept per source.
        #[arg(long)]
        source: Option<String>,
        /// EVM chain id of the collection's addresses (default: every chain).
        #[arg(long)]
        chain: Option<u64>,
        /// Category of indicators whose labels name none (default: other).
        #[arg(long, visible_alias = "category", value_name = "CATEGORY")]
        default_category: Option<Category>,
        /// Objects asked for per page (the server may send fewer).
        #[arg(long)]
        limit: Option<u32>,
        /// Read the whole collection again, ignoring the source's cursor.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List the book's sources with their sizes, decay policies and imports.
    List,
    /// Review objects posted to the node's writable TAXII collection (the inbox): list them,
    /// or accept one (its indicators join the book) or reject one (deleted from the inbox).
    Review {
        /// Import this queued object's indicators into the book.
        #[arg(long, value_name = "SEQ", conflicts_with = "reject")]
        accept: Option<u64>,
        /// Drop this queued object and delete it from its collection.
        #[arg(long, value_name = "SEQ")]
        reject: Option<u64>,
        /// Source name of an accepted object's indicators (default `taxii:<poster>`).
        #[arg(long, requires = "accept")]
        source: Option<String>,
        /// List from after this position.
        #[arg(long, conflicts_with_all = ["accept", "reject"])]
        after: Option<u64>,
        /// Most objects to list.
        #[arg(long, default_value_t = 50, conflicts_with_all = ["accept", "reject"])]
        limit: usize,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Publish what one source lists to the ledger as signed reports, each with a bond.
    Publish {
        /// The source (as shown by `vigil feed list`).
        #[arg(long)]
        source: String,
        /// info, low, medium, high or critical.
        #[arg(long)]
        severity: Severity,
        /// Bond of each report (a source becomes one report per category and 4,096 indicators).
        #[arg(long)]
        bond: Amount,
        /// Summary of the reports (default: "Indicators listed by the feed SOURCE").
        #[arg(long)]
        summary: Option<String>,
        /// Show the reports without submitting them.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        send: SendArgs,
    },
}

#[derive(Args)]
pub struct AdminArgs {
    /// The node's admin token file (the node writes it at its first start; VIGIL_ADMIN_TOKEN
    /// gives the token itself).
    #[arg(long, env = "VIGIL_ADMIN_TOKEN_FILE", default_value = ".vigil/admin.token")]
    admin_token_file: PathBuf,
}

impl AdminArgs {
    fn token(&self) -> Result<String> {
        if let Ok(t) = std::env::var("VIGIL_ADMIN_TOKEN")
            && !t.trim().is_empty()
        {
            return Ok(t.trim().to_owned());
        }
        let path = &self.admin_token_file;
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading the node's admin token {} (the node writes admin.token in its data \
                 directory at start; give its path with --admin-token-file)",
                path.display()
            )
        })?;
        Ok(text.trim().to_owned())
    }
}

/// Runs `vigil feed …`.
pub async fn run(client: &Client, cmd: FeedCommand, json: bool) -> Result<()> {
    match cmd {
        FeedCommand::Import {
            kind,
            path: file,
            source,
            chain,
            default_category,
            map_category,
            json_path: json_paths,
            admin,
        } => {
            if !json_paths.is_empty() && kind != FeedKind::Json {
                bail!("--path applies to json feeds only; this is a {kind} feed");
            }
            let mut categories = CategoryMap::new(default_category);
            for mapping in &map_category {
                categories.add(mapping)?;
            }
            let opts = ImportOptions {
                source,
                chain: chain.map(EvmChainId),
                categories,
                json_paths,
                ..ImportOptions::seen_at(modified_time(&file)?)
            };
            let path = file;
            import(client, kind, &path, opts, &admin, json).await
        }
        FeedCommand::Pull {
            taxii,
            collection,
            user,
            password_env,
            source,
            chain,
            default_category,
            limit,
            full,
            admin,
        } => {
            let password = match &password_env {
                Some(var) => Some(std::env::var(var).with_context(|| {
                    format!("--password-env {var}: the environment variable is not set")
                })?),
                None => None,
            };
            let request = PullRequest {
                taxii,
                collection,
                user,
                password,
                source,
                category: default_category,
                chain,
                limit,
                full,
            };
            pull(client, request, &admin, json).await
        }
        FeedCommand::List => list(client, json).await,
        FeedCommand::Review { accept, reject, source, after, limit, admin } => {
            let decision = match (accept, reject) {
                (Some(seq), _) => Some((seq, "accept")),
                (None, Some(seq)) => Some((seq, "reject")),
                (None, None) => None,
            };
            review(client, decision, source, after, limit, &admin, json).await
        }
        FeedCommand::Publish { source, severity, bond, summary, dry_run, send } => {
            publish(client, &source, severity, bond, summary, dry_run, &send, json).await
        }
    }
}

/// The file's modification time: the sighting time of its records, so that importing the same
/// file again changes nothing.
fn modified_time(path: &Path) -> Result<Timestamp> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    let secs = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(Timestamp(secs))
}

fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

async fn import(
    client: &Client,
    kind: FeedKind,
    path: &Path,
    opts: ImportOptions,
    admin: &AdminArgs,
    json: bool,
) -> Result<()> {
    let token = admin.token()?;
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    let is_feed_dir = meta.is_dir();
    if is_feed_dir && kind != FeedKind::Misp {
        bail!(
            "{} is a directory: only a MISP feed (misp) is imported from a directory",
            path.display()
        );
    }
    let size = meta.len();
    if !is_feed_dir && size > opts.max_bytes as u64 {
        bail!(
            "{}: {size} bytes is over the import limit of {} bytes",
            path.display(),
            opts.max_bytes
        );
    }
    let input = if is_feed_dir {
        Vec::new()
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
    };
    let bar = ProgressBar::new(input.len() as u64).with_style(bar_style(
        "{spinner} parsing {prefix} [{bar:30}] {bytes}/{total_bytes} · {msg} ({elapsed})",
    ));
    bar.set_prefix(kind.to_string());
    let mut book = IndicatorBook::new();
    let mut progress = |p: vigil_intel::Progress| {
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        bar.set_message(format!("{} records", p.records));
    };
    let parsed = if is_feed_dir {
        vigil_intel::import_misp_feed(&mut book, path, &opts, &mut progress)
    } else {
        vigil_intel::import(&mut book, kind, &input, &opts, &mut progress)
    };
    bar.finish_and_clear();
    drop(input);
    let parsed =
        parsed.map_err(|e| anyhow::anyhow!("{}: {e} — nothing was imported", path.display()))?;
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let records = parsed.imported;
    let spinner = ProgressBar::new_spinner().with_style(bar_style("{spinner} {msg} ({elapsed})"));
    spinner.set_message(format!("sending {records} records to the node at {}", client.base()));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let book = BookBytes::from(&book);
    let body = serde_json::to_vec(&ImportRequest { parsed, file, book })?;
    let url = format!("{}/v1/intel/imports", client.base());
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?
        .post(&url)
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    spinner.finish_and_clear();
    let outcome: ImportOutcome = decode(&url, response, "nothing was imported").await?;
    if json {
        print_json(&serde_json::to_value(&outcome)?);
        return Ok(());
    }
    let r = &outcome.report;
    println!("{}", r.summary());
    if outcome.changed {
        println!("book        {} indicators on the node", outcome.indicators);
    } else {
        println!(
            "book        unchanged ({} indicators): the node already had all of this",
            outcome.indicators
        );
    }
    for line in r.details() {
        println!("  {line}");
    }
    for rejection in r.rejected.iter().take(SHOWN_REJECTIONS) {
        println!("  rejected  {rejection}");
    }
    let more = r.rejected_total.saturating_sub(SHOWN_REJECTIONS as u64);
    if more > 0 {
        println!("  … and {more} more rejections (--json lists the first 1,000)");
    }
    Ok(())
}

async fn pull(client: &Client, request: PullRequest, admin: &AdminArgs, json: bool) -> Result<()> {
    let token = admin.token()?;
    let spinner = ProgressBar::new_spinner().with_style(bar_style("{spinner} {msg} ({elapsed})"));
    spinner.set_message(format!(
        "the node at {} is pulling collection {} from {}",
        client.base(),
        request.collection,
        request.taxii
    ));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let url = format!("{}/v1/intel/pulls", client.base());
    // A first pull of a large collection takes as long as the server needs.
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(6 * 3600))
        .build()?
        .post(&url)
        .bearer_auth(token)
        .json(&request)
        .send()
        .await;
    spinner.finish_and_clear();
    let report: PullReport = decode(&url, response, "nothing after the last merged page").await?;
    if json {
        print_json(&serde_json::to_value(&report)?);
        return Ok(());
    }
    println!("{}", report.summary());
    let from = match (&report.added_after, report.resumed) {
        (None, _) => "from the start".to_owned(),
        (Some(t), true) => format!("resumed an interrupted pull at {t}"),
        (Some(t), false) => format!("what was added after {t}"),
    };
    println!("read        {} ({from})", report.url);
    println!(
        "cursor      {}",
        report.cursor.as_deref().unwrap_or("none (the server sent no X-TAXII-Date-Added-Last)")
    );
    println!("book        {} indicators on the node", report.indicators);
    for line in report.report.details() {
        println!("  {line}");
    }
    for rejection in report.report.rejected.iter().take(SHOWN_REJECTIONS) {
        println!("  rejected  {rejection}");
    }
    Ok(())
}

async fn review(
    client: &Client,
    decision: Option<(u64, &str)>,
    source: Option<String>,
    after: Option<u64>,
    limit: usize,
    admin: &AdminArgs,
    json: bool,
) -> Result<()> {
    let token = admin.token()?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let Some((seq, decision)) = decision else {
        let mut url = format!("{}/v1/intel/review?limit={limit}", client.base());
        if let Some(after) = after {
            url.push_str(&format!("&after={after}"));
        }
        let response = http.get(&url).bearer_auth(token).send().await;
        let answer: Value = decode(&url, response, "nothing was listed").await?;
        if json {
            print_json(&answer);
            return Ok(());
        }
        let items = answer["items"].as_array().map(Vec::as_slice).unwrap_or_default();
        if items.is_empty() {
            println!("nothing is waiting for review");
        }
        for item in items {
            let object = &item["object"];
            let what = object["pattern"]
                .as_str()
                .or_else(|| object["name"].as_str())
                .unwrap_or(if object.is_null() { "(deleted from the collection)" } else { "" });
            println!(
                "#{:<5} {:<58} by {:<12} {}",
                item["seq"],
                item["id"].as_str().unwrap_or(""),
                item["posted_by"].as_str().unwrap_or(""),
                what.chars().take(100).collect::<String>()
            );
        }
        if items.len() == limit
            && let Some(last) = items.last()
        {
            println!("… more after #{0}: vigil feed review --after {0}", last["seq"]);
        }
        return Ok(());
    };
    let url = format!("{}/v1/intel/review/{seq}", client.base());
    let mut body = serde_json::json!({ "decision": decision });
    if let Some(source) = source {
        body["source"] = Value::String(source);
    }
    let response = http.post(&url).bearer_auth(token).json(&body).send().await;
    let outcome: Value = decode(&url, response, "nothing was changed").await?;
    if json {
        print_json(&outcome);
        return Ok(());
    }
    let id = outcome["item"]["id"].as_str().unwrap_or("");
    match outcome["import"].as_object() {
        Some(import) => {
            let report = &import["report"];
            println!(
                "accepted #{seq} {id}: {} indicator(s) imported, {} merged, {} rejected (source {})",
                report["imported"], report["merged"], report["rejected_total"], report["source"]
            );
        }
        None => println!("rejected #{seq} {id}: deleted from {}", outcome["item"]["collection"]),
    }
    Ok(())
}

/// Reads a JSON answer, or the node's `{error, message}` as an error.
async fn decode<T: serde::de::DeserializeOwned>(
    url: &str,
    response: Result<reqwest::Response, reqwest::Error>,
    on_error: &str,
) -> Result<T> {
    let response = response.map_err(|source| vigil_node::client::ClientError::Http {
        url: url.to_owned(),
        source: source.without_url(),
    })?;
    let status = response.status();
    let bytes = response.bytes().await.with_context(|| format!("reading the answer of {url}"))?;
    if !status.is_success() {
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        bail!(
            "{} ({}, HTTP {}) — {on_error}",
            body["message"].as_str().unwrap_or("request failed"),
            body["error"].as_str().unwrap_or("error"),
            status.as_u16()
        );
    }
    serde_json::from_slice(&bytes).with_context(|| format!("the node's answer to {url}"))
}

async fn list(client: &Client, json: bool) -> Result<()> {
    let v: Value = client.get("/v1/intel/sources").await?;
    if json {
        print_json(&v);
        return Ok(());
    }
    println!("{} indicators in the book", v["indicators"]);
    for s in v["sources"].as_array().into_iter().flatten() {
        let imports = s["imports"].as_array().map_or(0, Vec::len);
        let last = s["imports"]
            .as_array()
            .and_then(|a| a.last())
            .map(|r| {
                format!(
                    ", last {} from {}",
                    r["at"].as_str().unwrap_or("?"),
                    r["file"].as_str().unwrap_or("?")
                )
            })
            .unwrap_or_default();
        let p = &s["policy"];
        println!(
            "{:<24} {:>7} indicators  {:>5} allow  {:>3} fuzzy  base {} · lifetime {} d · {} import(s){last}",
            s["name"].as_str().unwrap_or(""),
            s["indicators"],
            s["allow_names"],
            s["fuzzy_names"],
            p["base_score"],
            p["lifetime_secs"].as_u64().unwrap_or(0) / 86_400,
            imports,
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn publish(
    client: &Client,
    source: &str,
    severity: Severity,
    bond: Amount,
    summary: Option<String>,
    dry_run: bool,
    send: &SendArgs,
    json: bool,
) -> Result<()> {
    let mut path = format!(
        "/v1/intel/sources/{}/reports?severity={}",
        percent_encoding::utf8_percent_encode(source, percent_encoding::NON_ALPHANUMERIC),
        severity.as_str()
    );
    if let Some(s) = &summary {
        path.push_str("&summary=");
        path.extend(percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC));
    }
    let answer: Value = client.get(&path).await?;
    let reports: Vec<Report> = serde_json::from_value(answer["reports"].clone())
        .context("the node's reports for the source")?;
    for r in &reports {
        r.check_shape().with_context(|| format!("report {:?}", r.summary))?;
    }
    let total: usize = reports.iter().map(|r| r.indicators.len()).sum();
    if dry_run {
        if json {
            print_json(&serde_json::json!({ "source": source, "reports": reports }));
        } else {
            println!("{} report(s), {total} indicators, bond {bond} each:", reports.len());
            for r in &reports {
                println!("  {} {} ({} indicators)", r.id(), r.summary, r.indicators.len());
            }
        }
        return Ok(());
    }
    let key = send.key.load()?;
    let mut submitted = Vec::new();
    for report in reports {
        let id = report.id();
        let (tx, _) = client
            .sign_and_submit(&key, TxBody::SubmitReport { report, bond })
            .await
            .with_context(|| format!("submitting report {id}"))?;
        submitted.push((id, tx));
    }
    let mut results = Vec::new();
    for (id, tx) in &submitted {
        let status = if send.no_wait {
            serde_json::json!({ "status": "pending" })
        } else {
            client.wait_committed(tx, Duration::from_secs(120)).await?
        };
        if let Some(err) = status["result"]["outcome"].get("Err") {
            bail!("report {id} (tx {tx}) committed but failed: {}", err["code"]);
        }
        results.push(serde_json::json!({ "report": id, "tx": tx, "status": status["status"], "height": status["height"] }));
    }
    if json {
        print_json(&serde_json::json!({ "source": source, "published": results }));
    } else {
        println!(
            "published {} report(s) with {total} indicators from {source}{}",
            results.len(),
            if send.no_wait { " (pending)" } else { "" }
        );
        for r in &results {
            println!("report {}", r["report"].as_str().unwrap_or(""));
        }
    }
    Ok(())
}
