//! `vigil disclose`, `vigil disclosure …` and `vigil recovery …`: embargoed disclosures paid
//! by a protocol's bounty table, and Safe Harbor recovery bounties.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vigil_core::disclosure::{MAX_REPORT_BYTES, commitment};
use vigil_core::{
    Amount, B256, ContentId, DisclosureEnvelope, DisclosureKey, ProposalAction, ProtocolId,
    Severity, TxBody,
};
use vigil_node::client::Client;
use vigil_node::disclosure;

use super::ledger::{SendArgs, print_json, send_tx, vgl};

/// `vigil disclose`: encrypt a report to a protocol's keys and commit to it on the ledger.
#[derive(Args)]
pub struct DiscloseArgs {
    /// The protocol the report is about.
    #[arg(long)]
    protocol: ProtocolId,
    /// The report (Markdown or text, at most 64 KiB).
    #[arg(long)]
    file: PathBuf,
    /// The severity you claim: critical, high, medium or low.
    #[arg(long)]
    severity: Severity,
    /// Funds directly at risk, in VGL (what a critical finding's share is of).
    #[arg(long, default_value = "0")]
    funds_at_risk: Amount,
    /// The bond, returned when the protocol answers (lost if its dispute stands).
    #[arg(long, default_value = "10")]
    bond: Amount,
    /// Where to keep the salt and commitment you need to reveal later (mode 0600; default
    /// FILE.disclosure.json). It is written before anything is sent.
    #[arg(long)]
    receipt: Option<PathBuf>,
    #[command(flatten)]
    send: SendArgs,
}

/// What `vigil disclose` keeps for the researcher.
#[derive(Serialize, Deserialize)]
struct Receipt {
    protocol: ProtocolId,
    commitment: ContentId,
    ciphertext: ContentId,
    #[serde(with = "vigil_core::disclosure::hex32")]
    salt: [u8; 32],
    tx: ContentId,
    #[serde(default)]
    disclosure: Option<u64>,
}

fn write_secret_file(path: &Path, text: &str) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (it is never overwritten)", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

fn read_report(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() > MAX_REPORT_BYTES {
        bail!(
            "{} is {} bytes; a disclosure is at most {MAX_REPORT_BYTES}",
            path.display(),
            bytes.len()
        );
    }
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

/// Runs `vigil disclose`.
pub async fn disclose(client: &Client, args: DiscloseArgs, json: bool) -> Result<()> {
    let report = read_report(&args.file)?;
    let p: Value = client.get(&format!("/v1/protocols/{}", args.protocol)).await?;
    let keys: Vec<DisclosureKey> = match p["spec"]["bounty"]["recipients"].as_array() {
        Some(keys) => keys
            .iter()
            .map(|k| k.as_str().unwrap_or("").parse())
            .collect::<Result<_, _>>()
            .context("the protocol's disclosure keys")?,
        None => bail!("{} has no bug bounty program: it lists no disclosure keys", args.protocol),
    };
    let envelope = DisclosureEnvelope::seal(report).context("drawing a random salt")?;
    let ciphertext = disclosure::encrypt(&keys, &envelope)?;
    let ciphertext_id = ContentId::of_bytes(ciphertext.as_bytes());
    let body = TxBody::Disclose {
        protocol: args.protocol.clone(),
        commitment: envelope.commitment(),
        ciphertext: ciphertext_id,
        severity: args.severity,
        funds_at_risk: args.funds_at_risk,
        bond: args.bond,
    };
    let key = args.send.key.load()?;
    let tx = client.sign(&key, body).await?;
    let receipt_path = args.receipt.unwrap_or_else(|| {
        let mut name = args.file.clone().into_os_string();
        name.push(".disclosure.json");
        PathBuf::from(name)
    });
    let mut receipt = Receipt {
        protocol: args.protocol,
        commitment: envelope.commitment(),
        ciphertext: ciphertext_id,
        salt: envelope.salt,
        tx: tx.id(),
        disclosure: None,
    };
    write_secret_file(&receipt_path, &serde_json::to_string_pretty(&receipt)?)?;
    let id = client.submit_disclosure(&tx, &ciphertext).await?;
    if args.send.no_wait {
        if json {
            print_json(&json!({ "id": id, "status": "pending", "receipt": receipt_path }));
        } else {
            println!("disclose {id} pending; receipt {}", receipt_path.display());
        }
        return Ok(());
    }
    let status = client.wait_committed(&id, Duration::from_secs(60)).await?;
    if let Some(err) = status["result"]["outcome"].get("Err") {
        bail!("disclose {id} committed at height {} but failed: {err}", status["height"]);
    }
    let list: Value = client.get("/v1/disclosures").await?;
    receipt.disclosure = list["disclosures"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["commitment"].as_str() == Some(&receipt.commitment.to_string()))
        .and_then(|d| d["id"].as_u64());
    // Rewrite the receipt with the disclosure id (same file, still 0600).
    std::fs::write(&receipt_path, serde_json::to_string_pretty(&receipt)?)
        .with_context(|| format!("writing {}", receipt_path.display()))?;
    if json {
        print_json(&json!({
            "disclosure": receipt.disclosure,
            "tx": id,
            "height": status["height"],
            "commitment": receipt.commitment,
            "ciphertext": receipt.ciphertext,
            "receipt": receipt_path,
        }));
    } else {
        println!(
            "disclosure {} committed at height {}: commitment {}, encrypted to {} key(s); receipt {}",
            receipt.disclosure.map_or("?".into(), |d| d.to_string()),
            status["height"],
            receipt.commitment,
            keys.len(),
            receipt_path.display()
        );
    }
    Ok(())
}

/// `vigil disclosure …`.
#[derive(Subcommand)]
pub enum DisclosureCommand {
    /// Create a disclosure identity (an age X25519 key, mode 0600) and print its public key,
    /// for a protocol's `[bounty] recipients`.
    Keygen {
        /// Where to write it (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// List disclosures (commitments and answers; never a plaintext).
    List {
        /// Only those about this protocol.
        #[arg(long)]
        protocol: Option<ProtocolId>,
    },
    /// Show a disclosure.
    Show {
        /// The disclosure id.
        id: u64,
    },
    /// Accept at the claimed severity: the tier is paid from the escrow (the protocol's owner).
    #[command(alias = "accept")]
    Ack {
        /// The disclosure id.
        id: u64,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Accept at a lower severity or smaller funds at risk, with a written reason; the lower
    /// tier is paid and the researcher may escalate (the protocol's owner).
    Downgrade {
        /// The disclosure id.
        id: u64,
        /// The severity you assess.
        #[arg(long)]
        severity: Severity,
        /// The funds at risk you assess (default: as claimed).
        #[arg(long)]
        funds_at_risk: Option<Amount>,
        /// Why (required, recorded on the ledger).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Dispute it (not a vulnerability, out of scope, known), with a written reason; the
    /// researcher may escalate (the protocol's owner).
    Dispute {
        /// The disclosure id.
        id: u64,
        /// Why (required, recorded on the ledger).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Escalate a downgrade or dispute to a binding governance vote; the proposal deposit is
    /// the escalation bond (the researcher).
    Escalate {
        /// The disclosure id.
        id: u64,
        /// What voters should know.
        #[arg(long, default_value = "The researcher escalates the protocol's answer.")]
        description: String,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Publish an unanswered disclosure after its deadline (the researcher): the ledger checks
    /// the report and salt against the commitment.
    Reveal {
        /// The disclosure id.
        id: u64,
        /// The report, exactly as disclosed.
        #[arg(long)]
        file: PathBuf,
        /// The receipt `vigil disclose` wrote (it holds the salt).
        #[arg(long)]
        receipt: PathBuf,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Decrypt a disclosure with a disclosure identity and check it against the commitment.
    Decrypt {
        /// The disclosure id.
        id: u64,
        /// The identity file (`vigil disclosure keygen`).
        #[arg(long)]
        identity: PathBuf,
        /// Write the report here (mode 0600) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn disclosure_line(d: &Value) -> String {
    let paid = vgl(&d["paid"]);
    format!(
        "disclosure {} {:<10} {} {} by {}…, deadline {}, paid {paid}{}",
        d["id"],
        d["status"].as_str().unwrap_or(""),
        d["protocol"].as_str().unwrap_or(""),
        d["severity"].as_str().unwrap_or(""),
        d["researcher"].as_str().unwrap_or("").get(..12).unwrap_or(""),
        d["deadline"],
        d["reason"].as_str().map(|r| format!(", reason: {r}")).unwrap_or_default(),
    )
}

/// Runs `vigil disclosure …`.
pub async fn disclosure(client: &Client, cmd: DisclosureCommand, json: bool) -> Result<()> {
    let (body, send) = match cmd {
        DisclosureCommand::Keygen { out } => {
            let public = disclosure::create_identity(&out)?;
            if json {
                print_json(&json!({ "identity": out, "recipient": public }));
            } else {
                println!("{public}");
                eprintln!(
                    "identity written to {} (mode 0600); list the line above in the protocol's [bounty] recipients",
                    out.display()
                );
            }
            return Ok(());
        }
        DisclosureCommand::List { protocol } => {
            let list: Value = client.get("/v1/disclosures").await?;
            let items: Vec<&Value> = list["disclosures"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| {
                    protocol.as_ref().is_none_or(|p| d["protocol"].as_str() == Some(p.as_str()))
                })
                .collect();
            if json {
                print_json(&json!({ "disclosures": items }));
            } else if items.is_empty() {
                println!("no disclosures");
            } else {
                for d in items {
                    println!("{}", disclosure_line(d));
                }
            }
            return Ok(());
        }
        DisclosureCommand::Show { id } => {
            let d: Value = client.get(&format!("/v1/disclosures/{id}")).await?;
            if json {
                print_json(&d);
            } else {
                println!("{}", disclosure_line(&d));
                println!("commitment  {}", d["commitment"].as_str().unwrap_or(""));
                println!(
                    "ciphertext  {} (stored here: {})",
                    d["ciphertext"].as_str().unwrap_or(""),
                    d["ciphertext_stored"]
                );
                println!(
                    "claimed     {} with {} at risk, pays {}",
                    d["severity"].as_str().unwrap_or(""),
                    vgl(&d["funds_at_risk"]),
                    vgl(&d["claimed_payout"])
                );
                if let Some(s) = d["assessed_severity"].as_str() {
                    println!("assessed    {s} with {} at risk", vgl(&d["assessed_funds_at_risk"]));
                }
                if let Some(end) = d["window_ends"].as_u64() {
                    println!(
                        "escalation  until height {end}{}",
                        d["escalation"]
                            .as_u64()
                            .map(|p| format!(", proposal {p}"))
                            .unwrap_or_default()
                    );
                }
                if let Some(text) = d["revealed"].as_str() {
                    println!("revealed:\n{text}");
                }
            }
            return Ok(());
        }
        DisclosureCommand::Decrypt { id, identity, out } => {
            let d: Value = client.get(&format!("/v1/disclosures/{id}")).await?;
            let expected: ContentId = d["ciphertext"]
                .as_str()
                .unwrap_or("")
                .parse()
                .context("the ledger's ciphertext id")?;
            let committed: ContentId = d["commitment"]
                .as_str()
                .unwrap_or("")
                .parse()
                .context("the ledger's commitment")?;
            let ciphertext = client.get_text(&format!("/v1/disclosures/{id}/ciphertext")).await?;
            let secret = disclosure::read_identity(&identity)?;
            let envelope = disclosure::decrypt(&secret, &ciphertext, &expected)?;
            if envelope.commitment() != committed {
                bail!(
                    "disclosure {id} decrypted, but its report and salt do not match the commitment on the ledger: do not trust it"
                );
            }
            match out {
                Some(path) => {
                    write_secret_file(&path, &envelope.report)?;
                    eprintln!(
                        "disclosure {id}: commitment verified; report written to {}",
                        path.display()
                    );
                }
                None => {
                    eprintln!("disclosure {id}: commitment verified");
                    print!("{}", envelope.report);
                }
            }
            return Ok(());
        }
        DisclosureCommand::Ack { id, send } => (TxBody::DisclosureAccept { disclosure: id }, send),
        DisclosureCommand::Downgrade { id, severity, funds_at_risk, reason, send } => {
            (TxBody::DisclosureDowngrade { disclosure: id, severity, funds_at_risk, reason }, send)
        }
        DisclosureCommand::Dispute { id, reason, send } => {
            (TxBody::DisclosureDispute { disclosure: id, reason }, send)
        }
        DisclosureCommand::Escalate { id, description, send } => (
            TxBody::Propose {
                action: ProposalAction::DecideDisclosure { disclosure: id },
                description,
                not_before: None,
            },
            send,
        ),
        DisclosureCommand::Reveal { id, file, receipt, send } => {
            let report = read_report(&file)?;
            let text = std::fs::read_to_string(&receipt)
                .with_context(|| format!("reading {}", receipt.display()))?;
            let r: Receipt = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a disclosure receipt", receipt.display()))?;
            if commitment(&report, &r.salt) != r.commitment {
                bail!(
                    "{} is not the report committed in {} (its commitment differs)",
                    file.display(),
                    receipt.display()
                );
            }
            (TxBody::DisclosureReveal { disclosure: id, report, salt: r.salt }, send)
        }
    };
    send_tx(client, body, &send, json).await
}

/// `vigil recovery …`: Safe Harbor recovery bounties.
#[derive(Subcommand)]
pub enum RecoveryCommand {
    /// Claim the bounty for funds you recovered from an exploit and returned.
    Claim {
        /// The protocol.
        #[arg(long)]
        protocol: ProtocolId,
        /// Value recovered and returned, in VGL.
        #[arg(long)]
        recovered: Amount,
        /// Part of the bounty you kept out of the rescued funds (only where the terms allow).
        #[arg(long, default_value = "0")]
        retained: Amount,
        /// An on-chain transaction of the rescue or the return (repeat for several).
        #[arg(long = "evidence", required = true)]
        evidence: Vec<B256>,
        /// A note for the protocol and voters.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Confirm a claim: the bounty, less what was retained, is paid from the escrow (the
    /// protocol's owner).
    Confirm {
        /// The claim id.
        id: u64,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Dispute a claim with a written reason; the claimant may escalate (the protocol's owner).
    Dispute {
        /// The claim id.
        id: u64,
        /// Why (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Escalate a disputed (or long unanswered) claim to a binding governance vote.
    Escalate {
        /// The claim id.
        id: u64,
        /// What voters should know.
        #[arg(long, default_value = "The whitehat escalates its recovery claim.")]
        description: String,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Show a claim.
    Show {
        /// The claim id.
        id: u64,
    },
    /// List claims.
    List,
}

fn recovery_line(r: &Value) -> String {
    format!(
        "recovery {} {:<9} {} by {}…: recovered {}, bounty {}, retained {}, paid {}",
        r["id"],
        r["status"].as_str().unwrap_or(""),
        r["protocol"].as_str().unwrap_or(""),
        r["claimant"].as_str().unwrap_or("").get(..12).unwrap_or(""),
        vgl(&r["recovered"]),
        vgl(&r["bounty"]),
        vgl(&r["retained"]),
        vgl(&r["paid"]),
    )
}

/// Runs `vigil recovery …`.
pub async fn recovery(client: &Client, cmd: RecoveryCommand, json: bool) -> Result<()> {
    let (body, send) = match cmd {
        RecoveryCommand::Claim { protocol, recovered, retained, evidence, note, send } => {
            (TxBody::RecoveryClaim { protocol, recovered, retained, evidence, note }, send)
        }
        RecoveryCommand::Confirm { id, send } => (TxBody::RecoveryConfirm { claim: id }, send),
        RecoveryCommand::Dispute { id, reason, send } => {
            (TxBody::RecoveryDispute { claim: id, reason }, send)
        }
        RecoveryCommand::Escalate { id, description, send } => (
            TxBody::Propose {
                action: ProposalAction::DecideRecovery { claim: id },
                description,
                not_before: None,
            },
            send,
        ),
        RecoveryCommand::Show { id } => {
            let r: Value = client.get(&format!("/v1/recoveries/{id}")).await?;
            if json {
                print_json(&r);
            } else {
                println!("{}", recovery_line(&r));
                for tx in r["evidence"].as_array().into_iter().flatten() {
                    println!("evidence  {}", tx.as_str().unwrap_or(""));
                }
                if let Some(reason) = r["reason"].as_str() {
                    println!("disputed  {reason}");
                }
            }
            return Ok(());
        }
        RecoveryCommand::List => {
            let list: Value = client.get("/v1/recoveries").await?;
            if json {
                print_json(&list);
            } else {
                for r in list["recoveries"].as_array().into_iter().flatten() {
                    println!("{}", recovery_line(r));
                }
            }
            return Ok(());
        }
    };
    send_tx(client, body, &send, json).await
}
