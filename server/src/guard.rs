//! The request guard: who may talk to the server, and the security headers of every answer.
//!
//! The server starts processes on the user's machine, so a request is refused unless it comes
//! from the app's own page or from a client that holds the server's token:
//!
//! - **Host allow-list** (every request): the `Host` header must name this server — a loopback
//!   name (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`), the bound address, a name given
//!   with `--allow-host`, or, when bound to every interface, any IP address. A web page that
//!   reaches the server by DNS rebinding sends its own host name and is refused (403).
//! - **A credential** (every `/api` request): the token as `Authorization: Bearer <token>`
//!   (scripts; the token is printed at start and kept in `<data-dir>/token`), or the
//!   `SameSite=Strict`, `HttpOnly` cookie the page receives when it loads. Without one: 401.
//! - **Same origin** (cookie-authenticated requests): an `Origin` header, when sent, must be the
//!   app's own origin; state-changing requests (anything but `GET`/`HEAD`) must send it; a
//!   `Sec-Fetch-Site` other than `same-origin` (or `none`, a typed address) is refused (403).
//! - **Content-Type** (requests with a body): `application/json`, or a YAML type for
//!   `POST /api/yaml`; anything else (`text/plain`, forms) is refused with 415, so no
//!   cross-origin "simple request" can carry a body to the API.
//! - **The page**: on a loopback address it is served to anyone who can reach it (only this
//!   machine can) and sets the cookie; on any other address the token is required once
//!   (`/?token=…`, which sets the cookie and redirects to `/`), otherwise a page asks for it.
//!
//! Every answer carries `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//! `Referrer-Policy: no-referrer`, `Cross-Origin-Opener-Policy` and
//! `Cross-Origin-Resource-Policy: same-origin`, and a `Content-Security-Policy` (the page's
//! allows its own scripts, including Trunk's inline loader by hash, and no framing).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{Body, HttpBody as _};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::AppError;

/// The content security policy of everything but the page: nothing may be loaded, framed or
/// run from an API answer opened as a document.
const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Why a guard could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The token given is unusable.
    #[error("the token must be 16 to 256 visible ASCII characters (letters, digits, - _ . ~)")]
    BadToken,
    /// An `--allow-host` value is not a host name.
    #[error(
        "--allow-host {0:?} is not a host name or IP address (give it without scheme or port)"
    )]
    BadHost(String),
    /// No random token could be made.
    #[error("cannot make a random token: {0}")]
    Random(String),
}

/// How the guard is set up (from the command line and the environment).
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// The address the server is bound to.
    pub addr: SocketAddr,
    /// The token; a random one is made when `None`.
    pub token: Option<String>,
    /// More host names accepted in `Host` (`--allow-host`).
    pub allowed_hosts: Vec<String>,
}

impl GuardConfig {
    /// A guard for a server on `addr` with a random token and no extra hosts.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            token: None,
            allowed_hosts: Vec::new(),
        }
    }
}

/// The request guard; cheap to clone.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    token: String,
    cookie_name: String,
    /// Lower-case host names (no port) accepted in `Host`.
    hosts: Vec<String>,
    /// Bound to every interface: any IP literal is accepted in `Host`.
    any_ip: bool,
    /// Loopback: the page is served without the token.
    open_page: bool,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("token", &"<hidden>")
            .field("hosts", &self.inner.hosts)
            .field("any_ip", &self.inner.any_ip)
            .field("open_page", &self.inner.open_page)
            .finish()
    }
}

impl Guard {
    /// Makes the guard: checks the token (or makes a random one) and the extra host names.
    pub fn new(config: GuardConfig) -> Result<Self, GuardError> {
        let token = match config.token {
            Some(t) => {
                let ok = (16..=256).contains(&t.len())
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
                if !ok {
                    return Err(GuardError::BadToken);
                }
                t
            }
            None => random_token()?,
        };
        let ip = config.addr.ip();
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .map(String::from)
            .collect();
        if !ip.is_unspecified() {
            hosts.push(host_of_ip(ip));
        }
        for h in config.allowed_hosts {
            let h = h.trim().to_ascii_lowercase();
            let valid = !h.is_empty()
                && h.len() <= 253
                && (h.parse::<IpAddr>().is_ok()
                    || (h.starts_with('[') && h.ends_with(']'))
                    || h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
            if !valid {
                return Err(GuardError::BadHost(h));
            }
            hosts.push(h);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                token,
                cookie_name: format!("pipeline-canvas-token-{}", config.addr.port()),
                hosts,
                any_ip: ip.is_unspecified(),
                open_page: ip.is_loopback(),
            }),
        })
    }

    /// The server's token.
    pub fn token(&self) -> &str {
        &self.inner.token
    }

    /// Whether the page is served without the token (loopback addresses).
    pub fn open_page(&self) -> bool {
        self.inner.open_page
    }

    /// The name of the cookie holding the token.
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// `true` when `host` (a `Host` header value, with or without port) names this server.
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host).to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        if self.inner.hosts.contains(&name) || name.ends_with(".localhost") {
            return true;
        }
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            // An IP address cannot be rebound to another server by DNS.
            Ok(ip) => self.inner.any_ip || ip.is_loopback(),
            Err(_) => false,
        }
    }

    fn token_matches(&self, given: &str) -> bool {
        given.as_bytes().ct_eq(self.inner.token.as_bytes()).into()
    }

    /// The credential of a request, if it has a valid one.
    fn credential(&self, headers: &HeaderMap) -> Result<Option<Credential>, AppError> {
        if let Some(v) = headers.get(header::AUTHORIZATION) {
            let given = v
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim);
            return match given {
                Some(t) if self.token_matches(t) => Ok(Some(Credential::Bearer)),
                _ => Err(AppError::Unauthorized(
                    "the Authorization header does not hold this server's token".into(),
                )),
            };
        }
        Ok(cookie(headers, &self.inner.cookie_name)
            .filter(|t| self.token_matches(t))
            .map(|_| Credential::Cookie))
    }

    /// The `Set-Cookie` value that hands the token to the page.
    fn set_cookie(&self) -> HeaderValue {
        let v = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.inner.cookie_name, self.inner.token
        );
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The URL to open the app with, for `host:port` (with the token when the page needs it).
    pub fn app_url(&self, authority: &str) -> String {
        if self.inner.open_page {
            format!("http://{authority}/")
        } else {
            format!("http://{authority}/?token={}", self.inner.token)
        }
    }
}

/// How a request proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    /// `Authorization: Bearer` with the token: a script or a tool.
    Bearer,
    /// The page's cookie: a browser, so the origin is checked too.
    Cookie,
}

/// Answers a refused request: the API's JSON error body on `/api`, plain text elsewhere.
fn refuse(e: AppError, api: bool) -> Response {
    tracing::warn!(status = %e.status(), reason = %e, "request refused");
    if api {
        e.into_response()
    } else {
        (e.status(), format!("{e}\n")).into_response()
    }
}

fn random_token() -> Result<String, GuardError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| GuardError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn host_of_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `example.com:8080` → `example.com`, `[::1]:80` → `[::1]`.
fn strip_port(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The value of cookie `name` in the `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The `Host` of a request (HTTP/1.1 header, or the URI's authority).
fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
}

/// Whether `origin` (an `Origin` header) is the app's own origin, reached as `host`.
fn same_origin(origin: &str, host: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    rest.eq_ignore_ascii_case(host)
}

/// Whether a method changes state.
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request has a body: anything but one known to be empty (`Content-Length: 0`,
/// or none with no `Transfer-Encoding`).
fn has_body(req: &Request) -> bool {
    req.body().size_hint().upper() != Some(0)
}

/// The media type of a `Content-Type` header, lower case, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next()?.trim().to_ascii_lowercase())
}

/// The checks of an `/api` request, in order.
fn check_api(guard: &Guard, req: &Request, host: &str) -> Result<(), AppError> {
    let headers = req.headers();
    let Some(credential) = guard.credential(headers)? else {
        return Err(AppError::Unauthorized(
            "this API needs the server's token: open the app's page (it sets a cookie), or send \
             `Authorization: Bearer <token>` (the token is printed when the server starts and \
             kept in <data-dir>/token)"
                .into(),
        ));
    };
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(o) = origin {
        if !same_origin(o, host) {
            return Err(AppError::Forbidden(format!(
                "cross-origin request from {o} refused: only the app's own page may call this API"
            )));
        }
    }
    if credential == Credential::Cookie {
        if changes_state(req.method()) && origin.is_none() {
            return Err(AppError::Forbidden(
                "a state-changing request with the page's cookie must come from the page \
                 (no Origin header); scripts send `Authorization: Bearer <token>`"
                    .into(),
            ));
        }
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if let Some(s) = site {
            // `none`: the user typed the address or opened a bookmark (reading only).
            let own = s == "same-origin" || (s == "none" && !changes_state(req.method()));
            if !own {
                return Err(AppError::Forbidden(format!(
                    "request from another site refused (Sec-Fetch-Site: {s})"
                )));
            }
        }
    }
    if changes_state(req.method()) && has_body(req) {
        let yaml = req.uri().path() == "/api/yaml";
        let media = media_type(headers);
        let ok = match media.as_deref() {
            Some("application/json") => !yaml,
            Some("application/yaml" | "application/x-yaml" | "text/yaml") => yaml,
            _ => false,
        };
        if !ok {
            let want = if yaml {
                "application/yaml"
            } else {
                "application/json"
            };
            return Err(AppError::UnsupportedMediaType(format!(
                "request body of type {} refused: send Content-Type: {want}",
                media.as_deref().unwrap_or("(none)")
            )));
        }
    }
    Ok(())
}

/// The guard as an axum middleware (see the module documentation): every request passes the
/// host check, `/api` requests the credential, origin and content-type checks.
pub async fn check(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/") || req.uri().path() == "/api";
    let Some(host) = request_host(req.headers(), req.uri()) else {
        return refuse(
            AppError::BadRequest("the request has no Host header".into()),
            api,
        );
    };
    if !guard.host_allowed(&host) {
        return refuse(
            AppError::Forbidden(format!(
            "Host {host:?} is not allowed: reach the server by a loopback address, or start it \
             with --allow-host {}",
            strip_port(&host)
        )),
            api,
        );
    }
    if api {
        if let Err(refusal) = check_api(&guard, &req, &host) {
            return refuse(refusal, true);
        }
    }
    next.run(req).await
}

/// Adds the security headers to every answer (a handler's own `Content-Security-Policy` is
/// kept).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        );
    }
    resp
}

/// The content security policy of the page: its own scripts (and the inline ones in `html`,
/// by hash), WebAssembly, its own styles (and style attributes), images from itself and data
/// URLs, fetches to itself and to https/http addresses (Import URL), workers from itself and
/// from Blob URLs (the compile worker's module script, made by the page; it inherits this
/// policy), no plugins, no framing.
pub fn page_csp(html: &str) -> String {
    let hashes: String = inline_scripts(html)
        .map(|s| {
            let digest = Sha256::digest(s.as_bytes());
            format!(" 'sha256-{}'", STANDARD.encode(digest))
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         connect-src 'self' https: http:; worker-src 'self' blob:; frame-src 'self' blob: data:; \
         object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The contents of the `<script>` elements of `html` that have no `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || loop {
        let start = rest.find("<script")?;
        let after = &rest[start..];
        let open_end = after.find('>')?;
        let open = &after[..open_end];
        let body = &after[open_end + 1..];
        let close = body.find("</script>")?;
        rest = &body[close + "</script>".len()..];
        if !open.contains(" src=") {
            return Some(&body[..close]);
        }
    })
}

/// The page (`/`, `/index.html`) of the built front end in `dir`: with the cookie that lets it
/// call the API when the server is open to this machine or the request proves the token;
/// otherwise a page that asks for the token. `/?token=…` with the right token sets the cookie
/// and redirects to `/`, so the token does not stay in the address bar or the history.
pub async fn page(State((guard, dir)): State<(Guard, PathBuf)>, req: Request) -> Response {
    let query_token = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| v.to_string())
    });
    if let Some(t) = query_token {
        if guard.token_matches(&t) {
            return Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, "/")
                .header(header::SET_COOKIE, guard.set_cookie())
                .header(header::CACHE_CONTROL, "no-store")
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        return token_page(true);
    }
    let has_cookie =
        cookie(req.headers(), guard.cookie_name()).is_some_and(|t| guard.token_matches(t));
    if !guard.open_page() && !has_cookie {
        return token_page(false);
    }
    let html = match tokio::fs::read_to_string(dir.join("index.html")).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, folder = %dir.display(), "cannot read the front end's index.html");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot read the front end\n",
            )
                .into_response();
        }
    };
    let csp = page_csp(&html);
    let mut resp = Html(html).into_response();
    let h = resp.headers_mut();
    h.insert(header::SET_COOKIE, guard.set_cookie());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// The page that asks for the token (401).
fn token_page(wrong: bool) -> Response {
    let note = if wrong {
        "<p><strong>That token is not this server's.</strong></p>"
    } else {
        ""
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pipeline Canvas: token needed</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>Pipeline Canvas</h1>
{note}
<p>This server listens on a network address, so it needs its access token. Open the address
it printed when it started (it ends in <code>/?token=…</code>), or paste the token from
<code>&lt;data-dir&gt;/token</code> here:</p>
<form method="get" action="/"><label>Token <input name="token" type="password" autocomplete="off" required></label>
<button type="submit">Open</button></form>
</body>
</html>
"#
    );
    let mut resp = (StatusCode::UNAUTHORIZED, Html(html)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(addr: &str) -> Guard {
        Guard::new(GuardConfig::new(addr.parse().expect("addr"))).expect("guard")
    }

    #[test]
    fn loopback_hosts_are_allowed_and_others_are_not() {
        let g = guard("127.0.0.1:8080");
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "app.localhost:1",
            "127.0.0.2",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "",
            "localhost.evil.example",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn unspecified_address_accepts_ip_literals_but_not_names() {
        let g = guard("0.0.0.0:8080");
        assert!(g.host_allowed("192.168.1.20:8080"));
        assert!(g.host_allowed("[fe80::1]:8080"));
        assert!(!g.host_allowed("my-box.lan:8080"));
        assert!(!g.open_page());
        let g = Guard::new(GuardConfig {
            allowed_hosts: vec!["My-Box.lan".into()],
            ..GuardConfig::new("0.0.0.0:8080".parse().expect("addr"))
        })
        .expect("guard");
        assert!(g.host_allowed("my-box.lan:8080"));
    }

    #[test]
    fn bad_tokens_and_hosts_are_refused() {
        let cfg = |token: &str| GuardConfig {
            token: Some(token.into()),
            ..GuardConfig::new("127.0.0.1:1".parse().expect("addr"))
        };
        assert!(matches!(
            Guard::new(cfg("short")),
            Err(GuardError::BadToken)
        ));
        assert!(matches!(
            Guard::new(cfg("has space in it 0123456")),
            Err(GuardError::BadToken)
        ));
        assert!(Guard::new(cfg("0123456789abcdef")).is_ok());
        let host = GuardConfig {
            allowed_hosts: vec!["http://x.example/".into()],
            ..GuardConfig::new("127.0.0.1:1".parse().expect("addr"))
        };
        assert!(matches!(Guard::new(host), Err(GuardError::BadHost(_))));
    }

    #[test]
    fn random_tokens_differ() {
        let (a, b) = (guard("127.0.0.1:1"), guard("127.0.0.1:1"));
        assert_eq!(a.token().len(), 64);
        assert_ne!(a.token(), b.token());
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("a.example:80"), "a.example");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("a.example"), "a.example");
    }

    #[test]
    fn inline_scripts_are_hashed_into_the_page_policy() {
        let html =
            r#"<script src="/a.js"></script><script type="module">import x from '/x.js';</script>"#;
        let scripts: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(scripts, ["import x from '/x.js';"]);
        let csp = page_csp(html);
        let digest = Sha256::digest(b"import x from '/x.js';");
        assert!(
            csp.contains(&format!("'sha256-{}'", STANDARD.encode(digest))),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("worker-src 'self' blob:;"), "{csp}");
    }
}
