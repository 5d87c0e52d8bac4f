//! One output artifact of a task, shown by its type: `system.Metrics` as a table,
//! `system.ClassificationMetrics` as a confusion matrix, `system.Markdown` rendered (a safe
//! subset), `system.HTML` in a sandboxed iframe, anything else as its URI and metadata.

use leptos::prelude::*;
use serde_json::{Map, Value};

use crate::api;
use crate::html::{esc, kv_table};
use crate::markdown;
use crate::state::text;
use crate::values::render_value;

/// Whether `uri` is a file the server can read for us (not `gs://…` and the like).
fn is_local(uri: &str) -> bool {
    !uri.contains("://") || uri.starts_with("file://")
}

/// The URL of an artifact file of run `run`.
pub fn artifact_url(run: &str, uri: &str) -> String {
    format!(
        "/api/runs/{}/artifact?uri={}",
        api::encode(run),
        api::encode(uri)
    )
}

/// One artifact: `{uri, metadata, type: {schemaTitle}}`.
#[component]
pub fn ArtifactView(run: String, name: String, artifact: Value) -> impl IntoView {
    let title = artifact["type"]["schemaTitle"]
        .as_str()
        .unwrap_or("system.Artifact")
        .to_string();
    let uri = artifact["uri"].as_str().unwrap_or_default().to_string();
    let mut metadata = artifact["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let local = is_local(&uri);
    let mut html = format!(
        "<div class=\"artifact-head\"><span class=\"artifact-name\">{}</span><span class=\"field-type\">{}</span>{}</div><div class=\"artifact-uri mono\" title=\"{u}\">{u}</div>",
        esc(&name),
        esc(&title),
        if local {
            format!(
                "<a class=\"link\" href=\"{}\" target=\"_blank\" rel=\"noopener\">open</a>",
                esc(&artifact_url(&run, &uri))
            )
        } else {
            String::new()
        },
        u = esc(&uri),
    );
    if title == "system.ClassificationMetrics" {
        if let Some(m) = metadata.remove("confusionMatrix") {
            html.push_str(&confusion_matrix(&m));
        }
    }
    html.push_str(&metrics_table(&metadata));
    let file = (local && matches!(title.as_str(), "system.Markdown" | "system.HTML")).then(|| {
        view! { <FileContent url=artifact_url(&run, &uri) html=title == "system.HTML" /> }
    });
    let st = crate::state::use_state();
    let lineage = (!uri.is_empty()).then(|| {
        let uri = uri.clone();
        view! {
            <button class="link artifact-lineage" data-testid=format!("artifact-lineage-{name}")
                title="Where this artifact came from and what used it"
                on:click=move |_| st.lineage.set(Some(crate::state::LineageFrom::Uri(uri.clone())))>
                "lineage"
            </button>
        }
    });
    view! {
        <div class="artifact" data-testid=format!("artifact-{name}") data-type=title>
            {lineage}
            <div inner_html=html></div>
            {file}
        </div>
    }
}

/// Metadata as a two-column table (nothing when empty).
fn metrics_table(metadata: &Map<String, Value>) -> String {
    kv_table(
        "metrics-table",
        metadata.iter().map(|(k, v)| (k.as_str(), render_value(v))),
    )
}

/// A confusion matrix as a table, actual classes down, predicted across. KFP writes
/// `{annotationSpecs: [{displayName}], rows: [{row: [..]}]}`; `{categories: [..], rows}` is
/// read too.
pub(crate) fn confusion_matrix(m: &Value) -> String {
    let label = |v: &Value| {
        let v = v.get("displayName").unwrap_or(v);
        esc(&v.as_str().map_or_else(|| v.to_string(), str::to_string))
    };
    let Some(categories) = m["annotationSpecs"]
        .as_array()
        .or_else(|| m["categories"].as_array())
    else {
        return String::new();
    };
    let mut out = String::from(
        "<table class=\"confusion\" data-testid=\"confusion-matrix\"><tr><th class=\"corner\">actual ↓ / predicted →</th>",
    );
    for c in categories {
        out.push_str(&format!("<th>{}</th>", label(c)));
    }
    out.push_str("</tr>");
    for (i, r) in m["rows"].as_array().into_iter().flatten().enumerate() {
        let name = categories.get(i).map(label).unwrap_or_default();
        out.push_str(&format!("<tr><th>{name}</th>"));
        for c in r["row"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "<td class=\"mono\">{}</td>",
                esc(&render_value(c))
            ));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

/// A Markdown or HTML artifact file, fetched from the server.
#[component]
fn FileContent(url: String, html: bool) -> impl IntoView {
    let content = RwSignal::new(String::from("<div class=\"muted\">Loading…</div>"));
    api::get_text(url, move |r| {
        content.try_set(match r {
            // No script, form or same-origin access: the empty sandbox allows nothing.
            Ok(t) if html => format!(
                "<iframe class=\"artifact-html\" sandbox=\"\" data-testid=\"artifact-html\" srcdoc=\"{}\"></iframe>",
                esc(&t)
            ),
            Ok(t) => markdown::to_html(&t),
            Err(e) => format!(
                "<div class=\"field-error block\">Cannot read the artifact: {}</div>",
                esc(&e)
            ),
        });
    });
    view! { <div inner_html=text(move || content.get())></div> }
}
