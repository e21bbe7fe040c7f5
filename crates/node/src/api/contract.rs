//! The API's contract with its clients, enforced in front of the handlers:
//! - every error is the JSON object `{error, message}` ([`error_contract`] rewrites whatever a
//!   layer below answered in another form: axum's plain-text rejections, empty 405s);
//! - a request target longer than `max_uri_bytes` is a 414 ([`limit_uri`]);
//! - path and query parameters are checked against the OpenAPI description itself
//!   ([`check_parameters`]), so the server refuses exactly what the document forbids.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{ApiError, OPENAPI};

/// Longest message kept from a plain-text rejection of a lower layer.
const MAX_REJECTION_TEXT: usize = 4 * 1024;
/// Longest piece of a client's input echoed in an error message.
const MAX_ECHO: usize = 80;
/// How a value that does not have its documented form is refused.
const MALFORMED: &str = "is malformed";

/// The short machine-readable code of an error status.
pub(crate) fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// `text` cut to [`MAX_ECHO`] characters, quoted, for error messages.
pub(crate) fn echo(text: &str) -> String {
    let mut cut: String = text.chars().take(MAX_ECHO).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"))
}

/// Rewrites every error response that is not JSON into the API's error object, keeping its
/// status and headers (`Allow`, `Retry-After`, `WWW-Authenticate`); a plain-text body becomes
/// the message.
pub(crate) async fn error_contract(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REJECTION_TEXT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        // The router adds `Allow` outside this layer, so it may not be here yet; the client
        // gets it on the response either way.
        let allowed = parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok());
        match allowed.filter(|a| !a.is_empty()) {
            Some(allowed) => format!(
                "method {} is not allowed on {}; allowed: {allowed}",
                echo(method.as_str()),
                echo(&path),
            ),
            None => format!(
                "method {} is not allowed on {}; the Allow header lists the methods that are",
                echo(method.as_str()),
                echo(&path),
            ),
        }
    } else if text.is_empty() {
        status.canonical_reason().unwrap_or("request failed").to_lowercase()
    } else {
        text
    };
    let error = ApiError { status, code: code_of(status).into(), message };
    let rewritten = error.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let (_, body) = rewritten.into_parts();
    Response::from_parts(parts, body)
}

/// Refuses request targets (path and query) longer than `max` bytes with a 414.
pub(crate) async fn limit_uri(max: usize, request: Request, next: Next) -> Response {
    let len = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > max {
        return ApiError {
            status: StatusCode::URI_TOO_LONG,
            code: "uri_too_long".into(),
            message: format!(
                "the request target is {len} bytes; this node takes at most {max} ([api] max_uri_bytes)"
            ),
        }
        .into_response();
    }
    next.run(request).await
}

/// Where a parameter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Location {
    Path,
    Query,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
        }
    }
}

/// One parameter of one operation, as the OpenAPI description declares it.
#[derive(Debug)]
struct Parameter {
    name: String,
    location: Location,
    /// What the value is, for people (the description, or a summary of the schema).
    explain: String,
    /// The error code of a refused value.
    code: String,
    rules: Rules,
}

/// The subset of JSON Schema the parameters use; [`Rules::from_schema`] refuses any other
/// keyword, so the server never silently ignores part of what the document says.
#[derive(Debug, Default)]
struct Rules {
    integer: bool,
    boolean: bool,
    minimum: Option<i128>,
    maximum: Option<i128>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<regex::Regex>,
    one_of: Option<Vec<String>>,
}

impl Rules {
    fn from_schema(schema: &Value) -> Result<Self, String> {
        let Some(object) = schema.as_object() else {
            return Err("schema is not an object".into());
        };
        let mut rules = Rules::default();
        for (key, value) in object {
            let int = || {
                (value.as_i64().map(i128::from))
                    .or(value.as_u64().map(i128::from))
                    .ok_or(format!("{key} is not an integer"))
            };
            let size = || {
                value
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or(format!("{key} is not a size"))
            };
            match key.as_str() {
                "type" => match value.as_str() {
                    Some("integer") => rules.integer = true,
                    Some("boolean") => rules.boolean = true,
                    Some("string") => {}
                    other => return Err(format!("type {other:?} is not supported")),
                },
                "minimum" => rules.minimum = Some(int()?),
                "maximum" => rules.maximum = Some(int()?),
                "minLength" => rules.min_length = Some(size()?),
                "maxLength" => rules.max_length = Some(size()?),
                "pattern" => {
                    let text = value.as_str().ok_or("pattern is not a string")?;
                    rules.pattern = Some(
                        regex::Regex::new(text).map_err(|e| format!("pattern {text:?}: {e}"))?,
                    );
                }
                "enum" => {
                    let names = value.as_array().ok_or("enum is not an array")?;
                    rules.one_of = Some(
                        names
                            .iter()
                            .map(|n| n.as_str().map(str::to_owned).ok_or("enum of non-strings"))
                            .collect::<Result<_, _>>()?,
                    );
                }
                // Documentation only.
                "format" | "description" | "examples" | "default" => {}
                other => return Err(format!("keyword {other:?} is not supported")),
            }
        }
        Ok(rules)
    }

    /// Why `value` breaks the rules, if it does.
    fn check(&self, value: &str) -> Option<String> {
        if self.boolean && value != "true" && value != "false" {
            return Some("must be true or false".into());
        }
        if self.integer {
            let digits = value.strip_prefix('-').unwrap_or(value);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Some("must be a whole number written in digits".into());
            }
            let Ok(n) = value.parse::<i128>() else {
                return Some("is too large".into());
            };
            if let Some(min) = self.minimum.filter(|min| n < *min) {
                return Some(format!("must be at least {min}"));
            }
            if let Some(max) = self.maximum.filter(|max| n > *max) {
                return Some(format!("must be at most {max}"));
            }
        }
        let chars = value.chars().count();
        if let Some(min) = self.min_length.filter(|min| chars < *min) {
            return Some(format!("must be at least {min} characters long"));
        }
        if let Some(max) = self.max_length.filter(|max| chars > *max) {
            return Some(format!("must be at most {max} characters long"));
        }
        if let Some(names) = &self.one_of
            && !names.iter().any(|n| n == value)
        {
            return Some(format!("must be one of {}", names.join(", ")));
        }
        if let Some(pattern) = &self.pattern
            && !pattern.is_match(value)
        {
            return Some(format!("{MALFORMED} (it must match {})", pattern.as_str()));
        }
        None
    }
}

/// Every operation's parameters: `(route pattern, method)` → parameters.
type ParameterMap = BTreeMap<(String, String), Vec<Arc<Parameter>>>;

fn parameters_of(list: Option<&Value>, path: &str) -> Result<Vec<Arc<Parameter>>, String> {
    let mut out = Vec::new();
    for p in list.and_then(Value::as_array).into_iter().flatten() {
        let name = p["name"].as_str().ok_or(format!("{path}: a parameter has no name"))?;
        let location = match p["in"].as_str() {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            other => return Err(format!("{path}: parameter {name} is in {other:?}")),
        };
        let rules = Rules::from_schema(&p["schema"]).map_err(|e| format!("{path} {name}: {e}"))?;
        let explain = p["description"].as_str().map(str::to_owned).unwrap_or_default();
        let code = match (p["x-error-code"].as_str(), location) {
            (Some(code), _) => code.to_owned(),
            (None, Location::Path) => format!("invalid_{name}"),
            (None, Location::Query) => "invalid_query".to_owned(),
        };
        out.push(Arc::new(Parameter { name: name.to_owned(), location, explain, code, rules }));
    }
    Ok(out)
}

/// Reads the parameters of every operation of an OpenAPI document.
fn parameter_map(document: &str) -> Result<ParameterMap, String> {
    let doc: Value = serde_json::from_str(document).map_err(|e| e.to_string())?;
    let mut map = ParameterMap::new();
    for (path, item) in doc["paths"].as_object().ok_or("no paths")? {
        let shared = parameters_of(item.get("parameters"), path)?;
        for method in ["get", "post", "put", "delete", "patch"] {
            let Some(op) = item.get(method) else { continue };
            let mut params = shared.clone();
            params.extend(parameters_of(op.get("parameters"), path)?);
            map.insert((path.clone(), method.to_ascii_uppercase()), params);
        }
    }
    Ok(map)
}

/// The parameters of [`OPENAPI`]; its tests prove it reads.
static PARAMETERS: LazyLock<ParameterMap> = LazyLock::new(|| {
    parameter_map(OPENAPI).unwrap_or_else(|e| {
        tracing::error!("the OpenAPI description's parameters do not read ({e}); unchecked");
        ParameterMap::new()
    })
});

/// A 400 naming the parameter, the value and what is wrong; a value of the wrong form is
/// explained by the parameter's description rather than by its pattern, when it has one.
fn refuse(p: &Parameter, value: &str, why: &str) -> ApiError {
    let what = format!("{} parameter {} = {}", p.location.as_str(), p.name, echo(value));
    let message = match (why.starts_with(MALFORMED), p.explain.is_empty()) {
        (true, false) => format!("{what} {MALFORMED}: {}", p.explain),
        (_, true) => format!("{what} {why}"),
        (false, false) => format!("{what} {why} ({})", p.explain),
    };
    ApiError::bad_request(&p.code, message)
}

/// Checks the request's path and query parameters against the operation's declaration in the
/// OpenAPI description; routes it does not describe (TAXII, the dashboard) pass unchecked.
pub(crate) async fn check_parameters(request: Request, next: Next) -> Response {
    let Some(route) = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    // A HEAD is checked as the GET it stands for.
    let method =
        if request.method() == Method::HEAD { Method::GET } else { request.method().clone() };
    let Some(params) = PARAMETERS.get(&(route, method.as_str().to_owned())) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    if let Err(e) = check(params, &mut parts).await {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

async fn check(
    params: &[Arc<Parameter>],
    parts: &mut axum::http::request::Parts,
) -> Result<(), ApiError> {
    if params.iter().any(|p| p.location == Location::Path) {
        let raw = RawPathParams::from_request_parts(parts, &()).await.map_err(|e| {
            ApiError::bad_request("invalid_path", format!("path: {}", e.body_text()))
        })?;
        for (name, value) in &raw {
            if let Some(p) = params.iter().find(|p| p.location == Location::Path && p.name == name)
                && let Some(why) = p.rules.check(value)
            {
                return Err(refuse(p, value, &why));
            }
        }
    }
    // An operation that declares no query parameter ignores the query string, as before.
    if !params.iter().any(|p| p.location == Location::Query) {
        return Ok(());
    }
    let query = parts.uri.query().unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|e| {
        ApiError::bad_request("invalid_query", format!("query string is malformed: {e}"))
    })?;
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in &pairs {
        if !seen.insert(name.as_str()) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("query parameter {} is given more than once", echo(name)),
            ));
        }
        let Some(p) = params.iter().find(|p| p.location == Location::Query && p.name == *name)
        else {
            let known: Vec<&str> = params
                .iter()
                .filter(|p| p.location == Location::Query)
                .map(|p| p.name.as_str())
                .collect();
            return Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "unknown query parameter {}; this endpoint takes {}",
                    echo(name),
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            ));
        };
        if let Some(why) = p.rules.check(value) {
            return Err(refuse(p, value, &why));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_of_the_document_is_understood() {
        let map = parameter_map(OPENAPI).unwrap();
        assert!(map.len() >= 20, "{}", map.len());
        assert_eq!(PARAMETERS.len(), map.len());
        for ((path, _), params) in &map {
            for name in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                let p = params.iter().find(|p| p.name == name && p.location == Location::Path);
                let p = p.unwrap_or_else(|| panic!("{path}: {{{name}}} is not declared"));
                assert!(
                    p.rules.pattern.is_some() || p.rules.integer,
                    "{path}: {{{name}}} has neither a pattern nor an integer type"
                );
            }
        }
    }

    /// A value one character over a path parameter's `maxLength`, of the widest characters
    /// (4-byte UTF-8, percent-encoded as 12 bytes), still fits the request-target limit, so the
    /// node answers 400 naming the parameter rather than 414.
    #[test]
    fn an_over_long_path_value_is_refused_by_its_parameter_not_by_the_uri_limit() {
        let limit = super::super::ApiConfig::default().max_uri_bytes;
        for ((path, _), params) in &parameter_map(OPENAPI).unwrap() {
            for p in params.iter().filter(|p| p.location == Location::Path) {
                let Some(max) = p.rules.max_length else { continue };
                let widest = path.len() + (max + 1) * 12;
                assert!(
                    widest <= limit,
                    "{path}: {{{}}} maxLength {max} ({widest} > {limit})",
                    p.name
                );
            }
        }
    }

    #[test]
    fn rules_refuse_what_the_schema_forbids_and_say_why() {
        let page = Rules::from_schema(
            &serde_json::json!({"type": "integer", "minimum": 1, "maximum": 10}),
        )
        .unwrap();
        assert_eq!(page.check("1"), None);
        assert_eq!(page.check("0").unwrap(), "must be at least 1");
        assert_eq!(page.check("11").unwrap(), "must be at most 10");
        assert!(page.check("+5").unwrap().contains("digits"));
        assert!(page.check("1.5").unwrap().contains("digits"));
        assert!(page.check("").unwrap().contains("digits"));
        assert_eq!(page.check(&"9".repeat(60)).unwrap(), "is too large");
        let status =
            Rules::from_schema(&serde_json::json!({"enum": ["open", "confirmed"]})).unwrap();
        assert_eq!(status.check("lost").unwrap(), "must be one of open, confirmed");
        assert!(Rules::from_schema(&serde_json::json!({"type": "string", "oneOf": []})).is_err());
        assert_eq!(echo(&"x".repeat(1000)).chars().count(), MAX_ECHO + 3);
    }
}
