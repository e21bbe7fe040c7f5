//! How the CLI prints a failure: each cause once, then what to do about it.
//!
//! Errors wrap their causes, and many also print their cause in their own message
//! (`cannot reach the node at URL: <reqwest error>`), so walking the chain naively repeats
//! phrases. [`render`] keeps a cause only when its text adds something to what is already
//! printed, and appends one hint for the failures people meet first.

use std::io::ErrorKind;

use vigil_node::client::ClientError;
use vigil_node::keyfile::KeyFileError;

/// The message for `error: …`: every cause once, joined by `: `, and a hint line when one
/// applies.
pub fn render(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || parts.iter().any(|p| p.contains(text)) {
            continue;
        }
        // A cause that repeats everything printed so far and adds to it replaces it.
        if let Some(last) = parts.last()
            && text.contains(last.as_str())
        {
            parts.pop();
        }
        parts.push(text.to_owned());
    }
    let mut out = parts.join(": ");
    if let Some(hint) = hint(error) {
        out.push_str("\nhint: ");
        out.push_str(&hint);
    }
    out
}

/// What to do about the most common failures.
fn hint(error: &anyhow::Error) -> Option<String> {
    for cause in error.chain() {
        let http = match cause.downcast_ref::<ClientError>() {
            Some(ClientError::Http { url, source }) => Some((url.clone(), source)),
            _ => cause
                .downcast_ref::<reqwest::Error>()
                .map(|e| (e.url().map(|u| u.to_string()).unwrap_or_default(), e)),
        };
        if let Some((url, source)) = http {
            if source.is_builder() {
                return Some(format!(
                    "{url:?} is not a URL the client can use; give --node (or VIGIL_NODE) as \
                     http://HOST:PORT, e.g. http://127.0.0.1:7070"
                ));
            }
            if source.is_connect() || source.is_timeout() {
                return Some(format!(
                    "is a node running at {}? start one with `vigil up`, or point --node \
                     (VIGIL_NODE) at a running node",
                    base_of(&url)
                ));
            }
        }
        if let Some(KeyFileError::Io { path, source }) = cause.downcast_ref::<KeyFileError>()
            && source.kind() == ErrorKind::NotFound
        {
            return Some(format!(
                "create a key with `vigil key new --out {}`, or give an existing one with --key",
                path.display()
            ));
        }
    }
    None
}

/// `scheme://host:port` of a URL, for the hint.
fn base_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {source}")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_printed_inside_its_parent_is_not_printed_again() {
        let io = std::io::Error::new(ErrorKind::NotFound, "No such file or directory (os error 2)");
        let e = anyhow::Error::new(Outer { source: io }).context("reading key.json");
        let text = render(&e);
        assert_eq!(text, "reading key.json: outer: No such file or directory (os error 2)");
        assert_eq!(text.matches("No such file").count(), 1);
    }

    #[test]
    fn base_of_keeps_scheme_host_and_port() {
        assert_eq!(base_of("http://127.0.0.1:7070/v1/status"), "http://127.0.0.1:7070");
        assert_eq!(base_of("http://x"), "http://x");
    }
}
