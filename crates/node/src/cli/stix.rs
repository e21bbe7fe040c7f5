//! `vigil stix export`: the node's indicator book and ledger (reports, attestations) as one
//! STIX 2.1 bundle, written to a file or stdout. `vigil misp export`: the same intelligence
//! (the book and the confirmed reports) as a MISP feed directory. `vigil taxii hash`: digests of TAXII user
//! secrets, so that configuration files need not hold the secrets themselves.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde::Deserialize;
use serde::de::IgnoredAny;
use vigil_intel::Timestamp;
use vigil_node::client::Client;

#[derive(Subcommand)]
pub enum StixCommand {
    /// Write the book and the ledger's reports and attestations as a STIX 2.1 bundle.
    Export {
        /// Only what was seen or happened at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<Timestamp>,
        /// The file to write (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also indicators whose confidence has decayed below their source's threshold.
        #[arg(long)]
        include_expired: bool,
        /// Leave out the indicator book (ledger only).
        #[arg(long, conflicts_with = "no_ledger")]
        no_book: bool,
        /// Leave out the ledger (book only).
        #[arg(long)]
        no_ledger: bool,
    },
}

#[derive(Subcommand)]
pub enum MispCommand {
    /// Write the book and the confirmed reports as a MISP feed directory (manifest.json and
    /// one <uuid>.json per event) that a MISP instance can subscribe to.
    Export {
        /// The directory to write (created when absent; files of earlier exports are replaced).
        #[arg(long)]
        out: PathBuf,
        /// Only what was seen or happened at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<Timestamp>,
        /// The organisation named as the events' creator.
        #[arg(long, default_value = "Vigil")]
        org: String,
        /// Also indicators whose confidence has decayed below their source's threshold.
        #[arg(long)]
        include_expired: bool,
    },
}

#[derive(Subcommand)]
pub enum TaxiiCommand {
    /// Print the `password_hash` or `token_hash` line of a `[[taxii.users]]` entry. The secret
    /// is read from the terminal, or from stdin when it is not one.
    Hash {
        /// The user name (part of a password's digest).
        #[arg(long)]
        user: String,
        /// Hash a bearer token instead of a password.
        #[arg(long)]
        token: bool,
    },
}

#[derive(Deserialize)]
struct Counted {
    id: String,
    objects: Vec<IgnoredAny>,
}

/// Runs `vigil stix …`.
pub async fn stix(client: &Client, cmd: StixCommand) -> Result<()> {
    let StixCommand::Export { since, out, include_expired, no_book, no_ledger } = cmd;
    let bytes = bundle(client, since, include_expired, no_book, no_ledger).await?;
    let counted: Counted = serde_json::from_slice(&bytes).context("the node's bundle")?;
    match out {
        Some(path) => {
            write_file(&path, &bytes)?;
            eprintln!(
                "wrote {} STIX objects ({}) to {}",
                counted.objects.len(),
                counted.id,
                path.display()
            );
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

/// Runs `vigil misp …`.
pub async fn misp(client: &Client, cmd: MispCommand) -> Result<()> {
    let MispCommand::Export { out, since, org, include_expired } = cmd;
    let bytes = bundle(client, since, include_expired, false, false).await?;
    let feed = vigil_intel::misp::feed_from_stix(&bytes, &vigil_intel::misp::FeedOptions { org })?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // Events first, the manifest last: a MISP reading the directory meanwhile never finds a
    // manifest naming an event file not written yet.
    let (manifest, events): (Vec<_>, Vec<_>) =
        feed.files.iter().partition(|(name, _)| name.as_str() == "manifest.json");
    for (name, bytes) in events.into_iter().chain(manifest) {
        write_file(&out.join(name), bytes)?;
    }
    eprintln!(
        "wrote a MISP feed of {} events ({} attributes) to {}",
        feed.events,
        feed.attributes,
        out.display()
    );
    Ok(())
}

/// Writes beside the target and renames, so a failed write leaves no half file.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The node's STIX bundle.
async fn bundle(
    client: &Client,
    since: Option<Timestamp>,
    include_expired: bool,
    no_book: bool,
    no_ledger: bool,
) -> Result<Vec<u8>> {
    let mut query = vec![];
    if let Some(t) = since {
        query.push(("since", t.to_stix()));
    }
    for (flag, on) in
        [("include_expired", include_expired), ("no_book", no_book), ("no_ledger", no_ledger)]
    {
        if on {
            query.push((flag, "true".to_owned()));
        }
    }
    let query: Vec<String> = query
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect();
    let url = format!("{}/v1/stix/bundle?{}", client.base(), query.join("&"));
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?
        .get(&url)
        .send()
        .await
        .map_err(|source| vigil_node::client::ClientError::Http {
            url: url.clone(),
            source: source.without_url(),
        })?;
    let status = response.status();
    let bytes = response.bytes().await.with_context(|| format!("reading {url}"))?;
    if !status.is_success() {
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        bail!(
            "{} ({}, HTTP {})",
            body["message"].as_str().unwrap_or("export failed"),
            body["error"].as_str().unwrap_or("error"),
            status.as_u16()
        );
    }
    Ok(bytes.to_vec())
}

/// Runs `vigil taxii …`.
pub fn taxii(cmd: TaxiiCommand) -> Result<()> {
    let TaxiiCommand::Hash { user, token } = cmd;
    let what = if token { "token" } else { "password" };
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("{what} for {user}: "))?
    } else {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s.lines().next().unwrap_or_default().to_owned()
    };
    if secret.is_empty() {
        bail!("an empty {what} protects nothing");
    }
    if token && secret.len() < 16 {
        bail!("a token must have at least 16 characters");
    }
    let hash = if token {
        vigil_taxii::hash_token(&secret)
    } else {
        vigil_taxii::hash_password(&user, &secret)
    };
    println!("{what}_hash = \"{hash}\"");
    Ok(())
}
