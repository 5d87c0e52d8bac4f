//! Calls to the backend's JSON API with the browser's `fetch`. What is sent and answered are
//! the `api` crate's wire types (`::api::…`; this module's name shadows the crate's where it
//! is imported).

use serde::de::DeserializeOwned;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// A JS exception as text.
fn js_error(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "network error".to_string())
}

/// A request body: its text and media type. The server refuses bodies that are not
/// `application/json` (or `application/yaml` for `POST /api/yaml`).
type Body = (String, &'static str);

/// The media type of JSON bodies.
const JSON: &str = "application/json";

/// Sends a request and returns the status and body text.
async fn fetch_text(method: &str, url: &str, body: Option<Body>) -> Result<(u16, String), String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some((text, _)) = &body {
        init.set_body(&JsValue::from_str(text));
    }
    let req = Request::new_with_str_and_init(url, &init).map_err(js_error)?;
    if let Some((_, media)) = body {
        req.headers().set("Content-Type", media).map_err(js_error)?;
    }
    let window = web_sys::window().ok_or("no window")?;
    let resp: Response = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|e| format!("{method} {url} failed: {}", js_error(e)))?
        .dyn_into()
        .map_err(|_| "fetch did not return a Response".to_string())?;
    let text = JsFuture::from(resp.text().map_err(js_error)?)
        .await
        .map_err(js_error)?
        .as_string()
        .unwrap_or_default();
    Ok((resp.status(), text))
}

/// The message of a failed answer: the server's [`ErrorBody`](::api::ErrorBody) or the HTTP
/// status. A remote service's error is shown as it sent it: Google's
/// `{"error": {message, status}}` as `Vertex AI answered HTTP 400 (INVALID_ARGUMENT): <message>`,
/// anything else verbatim.
///
/// The body is read as a JSON value, whose decoder the app has anyway, rather than decoded
/// into `ErrorBody` (a decoder of its own in the wasm loaded at start); the tests check that
/// this reads what the server writes.
pub fn error_message(status: u16, text: &str) -> String {
    let body = serde_json::from_str::<Value>(text).unwrap_or_default();
    let Some(error) = body["error"].as_str() else {
        return format!("HTTP {status}");
    };
    let remote = &body["remote"];
    let e = &remote["body"]["error"];
    match e["message"].as_str() {
        Some(m) => {
            let code = e["status"]
                .as_str()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            format!(
                "{} answered HTTP {}{code}: {m}",
                remote["service"].as_str().unwrap_or_default(),
                remote["status"].as_u64().unwrap_or_default()
            )
        }
        None => error.to_string(),
    }
}

/// Decodes a JSON answer from `url`.
fn decode<T: DeserializeOwned>(url: &str, text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| unexpected(url, &e))
}

/// The message of an answer that does not decode (one copy, not one per decoded type).
#[inline(never)]
fn unexpected(url: &str, e: &serde_json::Error) -> String {
    format!("unexpected answer from {url}: {e}")
}

/// A 2xx answer's body, or the HTTP status (0 when there was no answer) and what went wrong.
type Answer = Result<String, (u16, String)>;

/// Sends a request in the background and calls `done` with the body of a 2xx answer, or with
/// the HTTP status (0 when there was no answer) and what went wrong. Every request shares this
/// one future (keeps the wasm small).
fn request(method: &'static str, url: String, body: Option<Body>, done: Box<dyn FnOnce(Answer)>) {
    leptos::task::spawn_local(async move {
        let result = match fetch_text(method, &url, body).await {
            Ok((status, text)) if (200..300).contains(&status) => Ok(text),
            Ok((status, text)) => Err((status, error_message(status, &text))),
            Err(e) => Err((0, e)),
        };
        done(result);
    });
}

/// `GET url`, then `done` with the decoded JSON answer or an error message.
pub fn get<T: DeserializeOwned + 'static>(
    url: String,
    done: impl FnOnce(Result<T, String>) + 'static,
) {
    let u = url.clone();
    request(
        "GET",
        url,
        None,
        Box::new(move |r| done(r.map_err(|e| e.1).and_then(|t| decode(&u, &t)))),
    );
}

/// `method url` with a JSON body (already serialized), then `done` with the decoded answer.
pub fn send<T: DeserializeOwned + 'static>(
    method: &'static str,
    url: String,
    body: String,
    done: impl FnOnce(Result<T, String>) + 'static,
) {
    send_as(method, url, (body, JSON), done);
}

/// `POST url` with a YAML body, then `done` with the decoded JSON answer.
pub fn send_yaml<T: DeserializeOwned + 'static>(
    url: String,
    body: String,
    done: impl FnOnce(Result<T, String>) + 'static,
) {
    send_as("POST", url, (body, "application/yaml"), done);
}

/// [`send`] and [`send_yaml`].
fn send_as<T: DeserializeOwned + 'static>(
    method: &'static str,
    url: String,
    body: Body,
    done: impl FnOnce(Result<T, String>) + 'static,
) {
    let u = url.clone();
    request(
        method,
        url,
        Some(body),
        Box::new(move |r| done(r.map_err(|e| e.1).and_then(|t| decode(&u, &t)))),
    );
}

/// Like [`send`], with the HTTP status of a refusal (0 when there was no answer).
pub fn send_status<T: DeserializeOwned + 'static>(
    method: &'static str,
    url: String,
    body: String,
    done: impl FnOnce(Result<T, (u16, String)>) + 'static,
) {
    let u = url.clone();
    request(
        method,
        url,
        Some((body, JSON)),
        Box::new(move |r| done(r.and_then(|t| decode(&u, &t).map_err(|e| (0, e))))),
    );
}

/// `method url` with a body, then `done` with the body text of a 2xx answer or what went wrong.
pub fn send_text(
    method: &'static str,
    url: String,
    body: String,
    done: impl FnOnce(Result<String, String>) + 'static,
) {
    request(
        method,
        url,
        Some((body, JSON)),
        Box::new(move |r| done(r.map_err(|e| e.1))),
    );
}

/// Percent-encodes an id for use in a URL path.
pub fn encode(id: &str) -> String {
    String::from(js_sys::encode_uri_component(id))
}

/// `GET url` (any origin; cross-origin servers must allow it), then `done` with the body text
/// of a 2xx answer or what went wrong.
pub fn get_text(url: String, done: impl FnOnce(Result<String, String>) + 'static) {
    request(
        "GET",
        url,
        None,
        Box::new(move |r| done(r.map_err(|e| e.1))),
    );
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn errors_of_remote_services_are_shown_as_they_sent_them() {
        let google = r#"{"error": "Vertex AI answered HTTP 400: {...}", "remote": {"service": "Vertex AI", "status": 400,
            "body": {"error": {"code": 400, "message": "Field: pipeline_spec; <invalid>", "status": "INVALID_ARGUMENT", "details": []}}}}"#;
        assert_eq!(
            error_message(400, google),
            "Vertex AI answered HTTP 400 (INVALID_ARGUMENT): Field: pipeline_spec; <invalid>"
        );
        let other = r#"{"error": "Kubeflow Pipelines answered HTTP 404: not here", "remote": {"service": "Kubeflow Pipelines", "status": 404, "body": "not here"}}"#;
        assert_eq!(
            error_message(404, other),
            "Kubeflow Pipelines answered HTTP 404: not here"
        );
        assert_eq!(
            error_message(400, r#"{"error": "the Vertex AI project is not set"}"#),
            "the Vertex AI project is not set"
        );
        assert_eq!(error_message(502, "<html>"), "HTTP 502");
    }

    #[test]
    fn errors_are_read_as_the_server_writes_them() {
        // The shared wire type, written as the server writes it.
        let written = |body: ::api::ErrorBody| serde_json::to_string(&body).expect("json");
        let plain = ::api::ErrorBody::new("the Vertex AI project is not set");
        assert_eq!(
            error_message(400, &written(plain)),
            "the Vertex AI project is not set"
        );
        let google = ::api::ErrorBody {
            remote: Some(::api::RemoteError {
                service: "Vertex AI".into(),
                status: 403,
                body: serde_json::json!({"error": {"message": "denied", "status": "PERMISSION_DENIED"}}),
            }),
            ..::api::ErrorBody::new("Vertex AI answered HTTP 403: {...}")
        };
        assert_eq!(
            error_message(403, &written(google)),
            "Vertex AI answered HTTP 403 (PERMISSION_DENIED): denied"
        );
        let text = ::api::ErrorBody {
            remote: Some(::api::RemoteError {
                service: "Kubeflow Pipelines".into(),
                status: 500,
                body: serde_json::json!("upstream broke"),
            }),
            ..::api::ErrorBody::new("Kubeflow Pipelines answered HTTP 500: upstream broke")
        };
        assert_eq!(
            error_message(500, &written(text)),
            "Kubeflow Pipelines answered HTTP 500: upstream broke"
        );
        // Not an error body: the status.
        assert_eq!(error_message(404, r#"{"message": "x"}"#), "HTTP 404");
        assert_eq!(error_message(500, ""), "HTTP 500");
    }

    #[test]
    fn a_refused_pipeline_reads_as_its_message_whatever_its_diagnostics() {
        // The diagnostics are skipped unread: any shape of them leaves the message.
        for diagnostics in [
            r#"[{"severity": "error", "code": "x", "message": "m", "location": {"node": "a"}}]"#,
            r#"[{"a shape": "from a newer server"}]"#,
        ] {
            let body =
                format!(r#"{{"error": "pipeline has errors", "diagnostics": {diagnostics}}}"#);
            assert_eq!(error_message(422, &body), "pipeline has errors");
        }
    }
}
