//! Media types: TAXII 2.1 resources are `application/taxii+json;version=2.1`; STIX content is
//! `application/stix+json;version=2.1`.

/// The TAXII 2.1 media type.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The STIX 2.1 media type (of objects in collections).
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// Splits `type/subtype; k=v; ...` into the lower-case essence and its parameters.
fn parse(range: &str) -> (String, Vec<(String, String)>) {
    let mut parts = range.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_owned()))
        })
        .collect();
    (essence, params)
}

fn version_ok(params: &[(String, String)]) -> bool {
    params.iter().filter(|(k, _)| k == "version").all(|(_, v)| v == "2.1")
}

/// Whether an `Accept` header value admits TAXII 2.1 JSON. A missing header admits it.
pub fn accepts_taxii(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return true };
    accept.split(',').any(|range| {
        let (essence, params) = parse(range);
        let q_zero =
            params.iter().any(|(k, v)| k == "q" && v.parse::<f32>().is_ok_and(|q| q <= 0.0));
        !q_zero
            && match essence.as_str() {
                "application/taxii+json" => version_ok(&params),
                "*/*" | "application/*" => true,
                _ => false,
            }
    })
}

/// Whether a `Content-Type` is TAXII 2.1 JSON (the only type objects may be posted in).
pub fn is_taxii_content(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let (essence, params) = parse(ct);
        essence == "application/taxii+json" && version_ok(&params)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert!(accepts_taxii(None));
        assert!(accepts_taxii(Some(TAXII_MEDIA_TYPE)));
        assert!(accepts_taxii(Some("application/taxii+json")));
        assert!(accepts_taxii(Some("text/html, */*;q=0.8")));
        assert!(accepts_taxii(Some("application/taxii+json; version=2.1")));
        assert!(!accepts_taxii(Some("application/taxii+json;version=2.0")));
        assert!(!accepts_taxii(Some("application/json")));
        assert!(!accepts_taxii(Some(STIX_MEDIA_TYPE)));
        assert!(!accepts_taxii(Some("application/taxii+json;q=0")));
    }

    #[test]
    fn content_types() {
        assert!(is_taxii_content(Some(TAXII_MEDIA_TYPE)));
        assert!(is_taxii_content(Some("Application/TAXII+json")));
        assert!(!is_taxii_content(Some("application/json")));
        assert!(!is_taxii_content(Some("application/taxii+json;version=2.0")));
        assert!(!is_taxii_content(None));
    }
}
