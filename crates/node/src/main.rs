//! The `vigil` command line.

use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use vigil_node::keyfile;

#[derive(Parser)]
#[command(name = "vigil", version, about = "Vigil: a community-run security network for DeFi")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and inspect account keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run a single local node with a demo (the embedded default).
    Up {
        /// Data directory.
        #[arg(long, default_value = ".vigil")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generate a new Ed25519 account key (file mode 0600).
    New {
        /// Where to write the key file.
        #[arg(long)]
        out: PathBuf,
        /// Encrypt the key with a passphrase (age/scrypt); asked for interactively unless
        /// --passphrase-file or VIGIL_KEY_PASSPHRASE gives it.
        #[arg(long)]
        encrypt: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Print the account id of a key file (never the secret).
    Show {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
}

#[derive(clap::Args)]
struct PassphraseArgs {
    /// Read the key passphrase from the first line of this file.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    /// The passphrase from the file or the environment, if either gives one.
    fn given(&self) -> Result<Option<SecretString>> {
        if let Some(path) = &self.passphrase_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading passphrase file {}", path.display()))?;
            let line = text.lines().next().unwrap_or_default().to_owned();
            if line.is_empty() {
                bail!("passphrase file {} is empty", path.display());
            }
            return Ok(Some(SecretString::from(line)));
        }
        Ok(std::env::var("VIGIL_KEY_PASSPHRASE")
            .ok()
            .filter(|p| !p.is_empty())
            .map(SecretString::from))
    }

    /// The passphrase for reading `path`: given, or asked for when the file is encrypted.
    fn for_reading(&self, path: &Path) -> Result<Option<SecretString>> {
        if let Some(p) = self.given()? {
            return Ok(Some(p));
        }
        if keyfile::is_encrypted(path)? {
            let p = rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))?;
            return Ok(Some(SecretString::from(p)));
        }
        Ok(None)
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Key(KeyCommand::New { out, encrypt, passphrase }) => {
            let pass = match passphrase.given()? {
                Some(p) => Some(p),
                None if encrypt => {
                    let first = rpassword::prompt_password("New passphrase: ")?;
                    let again = rpassword::prompt_password("Repeat passphrase: ")?;
                    if first != again {
                        bail!("the passphrases differ");
                    }
                    if first.is_empty() {
                        bail!("an empty passphrase protects nothing");
                    }
                    Some(SecretString::from(first))
                }
                None => None,
            };
            let encrypted = pass.is_some();
            let key = keyfile::create(&out, pass)?;
            println!("account  {}", key.account_id());
            println!(
                "key file {} (mode 0600{})",
                out.display(),
                if encrypted { ", passphrase-encrypted" } else { "" }
            );
        }
        Command::Key(KeyCommand::Show { key, passphrase }) => {
            let pass = passphrase.for_reading(&key)?;
            let key = keyfile::read(&key, pass)?;
            println!("{}", key.account_id());
        }
        Command::Up { data } => {
            println!("vigil {} — data directory {}", env!("CARGO_PKG_VERSION"), data.display());
            println!("The node itself is not built yet; `vigil up` will run it here.");
        }
    }
    Ok(())
}
