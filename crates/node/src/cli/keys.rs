//! `vigil key …` and the key/passphrase arguments other commands share.

use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use vigil_core::Keypair;
use vigil_node::keyfile;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a new Ed25519 account key (file mode 0600).
    New {
        /// Where to write the key file.
        #[arg(long)]
        out: PathBuf,
        /// Encrypt the key with a passphrase (age/scrypt).
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

#[derive(Args)]
pub struct KeyArgs {
    /// The signer's key file.
    #[arg(long, env = "VIGIL_KEY")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

#[derive(Args)]
pub struct PassphraseArgs {
    /// Read the key passphrase from the first line of this file.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    pub fn given(&self) -> Result<Option<SecretString>> {
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

    pub fn for_reading(&self, path: &Path) -> Result<Option<SecretString>> {
        if let Some(p) = self.given()? {
            return Ok(Some(p));
        }
        if keyfile::is_encrypted(path)? {
            let p = ask(&format!("Passphrase for {}: ", path.display()))?;
            return Ok(Some(SecretString::from(p)));
        }
        Ok(None)
    }
}

/// Asks for a passphrase on the terminal; without one (a script, CI) says how else to give it.
fn ask(prompt: &str) -> Result<String> {
    rpassword::prompt_password(prompt).map_err(|e| {
        anyhow::anyhow!(
            "cannot ask for the passphrase: no terminal to ask on ({e}); give it with \
             --passphrase-file FILE or the VIGIL_KEY_PASSPHRASE environment variable"
        )
    })
}

impl KeyArgs {
    pub fn load(&self) -> Result<Keypair> {
        let Some(path) = &self.key else {
            bail!(
                "this command signs a transaction: give the signer's key with --key FILE (or VIGIL_KEY)"
            );
        };
        Ok(keyfile::read(path, self.passphrase.for_reading(path)?)?)
    }
}

/// Runs `vigil key …`.
pub fn run(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::New { out, encrypt, passphrase } => {
            let pass = match passphrase.given()? {
                Some(p) => Some(p),
                None if encrypt => {
                    let first = ask("New passphrase: ")?;
                    let again = ask("Repeat passphrase: ")?;
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
        KeyCommand::Show { key, passphrase } => {
            let pass = passphrase.for_reading(&key)?;
            println!("{}", keyfile::read(&key, pass)?.account_id());
        }
    }
    Ok(())
}
