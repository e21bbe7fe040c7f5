//! `vigil testnet`: writes a local multi-validator network (keys, shared genesis, one config
//! per validator) and `vigil alert publish`: signs an alert and publishes it by gossip.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use vigil_core::{Alert, ChainId, Signed};
use vigil_node::client::Client;
use vigil_node::testnet::{TestnetSpec, create};

use super::keys::KeyArgs;
use super::ledger::print_json;

#[derive(Args)]
pub struct TestnetArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Directory to create it in (must not hold a testnet yet).
    #[arg(long)]
    dir: PathBuf,
    /// First port: validator I uses BASE+3I (API), BASE+3I+1 (consensus), BASE+3I+2 (gossip).
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
    /// Funded user accounts whose keys go to DIR/keys.
    #[arg(long, default_value_t = 4)]
    users: usize,
    /// The network's id.
    #[arg(long, default_value = "vigil-testnet")]
    chain_id: ChainId,
    /// Least time per height, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    block_time_ms: u64,
    /// How long validators wait for a proposal before moving to the next round, in
    /// milliseconds.
    #[arg(long, default_value_t = 3_000)]
    timeout_propose_ms: u64,
    /// Blocks per validator-set epoch (the set changes only at epoch boundaries).
    #[arg(long, default_value_t = 100)]
    epoch_length: u64,
    /// Fee every transaction pays to the treasury, in VGL (0 for none): what makes flooding
    /// the mempool cost the flooder.
    #[arg(long, default_value = "0.001")]
    tx_fee: vigil_core::Amount,
}

/// Runs `vigil testnet`.
pub fn testnet(args: TestnetArgs, json: bool) -> Result<()> {
    let spec = TestnetSpec {
        users: args.users,
        chain_id: args.chain_id,
        block_interval_ms: args.block_time_ms,
        timeout_propose_ms: args.timeout_propose_ms,
        ..TestnetSpec::new(args.validators, args.base_port)
    };
    let spec = TestnetSpec {
        params: vigil_ledger::Params {
            epoch_length: args.epoch_length,
            tx_fee: args.tx_fee,
            ..spec.params.clone()
        },
        ..spec
    };
    let net = create(&args.dir, &spec)
        .with_context(|| format!("creating a testnet in {}", args.dir.display()))?;
    if json {
        let nodes: Vec<_> = net
            .nodes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "config": n.config_path, "account": n.account, "api": format!("http://{}", n.api),
                    "consensus": n.consensus, "gossip": n.gossip,
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "genesis": net.genesis_path, "nodes": nodes, "user_keys": net.user_keys,
        }));
        return Ok(());
    }
    println!("{}-validator testnet {} in {}", net.nodes.len(), spec.chain_id, net.dir.display());
    for (i, n) in net.nodes.iter().enumerate() {
        println!(
            "  node-{i}  API http://{}  consensus {}  gossip {}  account {}",
            n.api,
            n.consensus,
            n.gossip,
            n.account.short()
        );
    }
    println!("  user keys {}/keys/user-*.key", net.dir.display());
    println!("Run each validator (one terminal each, or with &):");
    for n in &net.nodes {
        println!("  vigil node --config {}", n.config_path.display());
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum AlertCommand {
    /// Sign an alert (JSON file) with your key and publish it to every node by gossip.
    Publish {
        /// The alert as JSON (detector, severity, kind, confidence, tx, addresses, …).
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
}

/// Runs `vigil alert …`.
pub async fn alert(client: &Client, cmd: AlertCommand, json: bool) -> Result<()> {
    match cmd {
        AlertCommand::Publish { file, key } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let alert: Alert = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an alert", file.display()))?;
            let key = key.load()?;
            let chain: ChainId = client.status().await?.chain_id.parse()?;
            let signed = Signed::sign(alert, chain, &key);
            let id = client.publish_alert(&signed).await?;
            if json {
                print_json(&serde_json::json!({ "id": id, "status": "published" }));
            } else {
                println!("alert {id} published");
            }
        }
    }
    Ok(())
}
