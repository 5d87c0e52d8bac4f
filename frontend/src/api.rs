//! Calls to the backend's JSON API with the browser's `fetch`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// The body of an error answer: `{"error": "..."}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// The body of a create/update answer: `{"id": "..."}`.
#[derive(Debug, Clone, Deserialize)]
pub struct IdBody {
    /// The pipeline's id.
    pub id: String,
}

/// A JS exception as text.
fn js_error(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "network error".to_string())
}

/// Sends a request and returns the status and body text.
async fn fetch_text(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<(u16, String), String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = &body {
        init.set_body(&JsValue::from_str(b));
    }
    let req = Request::new_with_str_and_init(url, &init).map_err(js_error)?;
    if body.is_some() {
        req.headers()
            .set("Content-Type", "application/json")
            .map_err(js_error)?;
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

/// Turns an answer into `T`, or an error message naming what the server said.
fn decode<T: DeserializeOwned>(url: &str, status: u16, text: &str) -> Result<T, String> {
    if !(200..300).contains(&status) {
        let why = serde_json::from_str::<ErrorBody>(text)
            .map(|b| b.error)
            .unwrap_or_else(|_| format!("HTTP {status}"));
        return Err(why);
    }
    serde_json::from_str(text).map_err(|e| format!("unexpected answer from {url}: {e}"))
}

/// `GET url` and decode the JSON answer.
pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    let (status, text) = fetch_text("GET", url, None).await?;
    decode(url, status, &text)
}

/// `method url` with a JSON body, decoding the JSON answer.
pub async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: &B,
) -> Result<T, String> {
    let body = serde_json::to_string(body).map_err(|e| e.to_string())?;
    let (status, text) = fetch_text(method, url, Some(body)).await?;
    decode(url, status, &text)
}

/// Percent-encodes an id for use in a URL path.
pub fn encode(id: &str) -> String {
    String::from(js_sys::encode_uri_component(id))
}
