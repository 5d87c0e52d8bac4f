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
        if let Some(points) = metadata.remove("confidenceMetrics") {
            html.push_str(&roc_chart(&[(name.clone(), &points)]));
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

/// The points of a ROC curve from KFP's `confidenceMetrics` (`log_roc_curve`: one
/// `{falsePositiveRate, recall, confidenceThreshold}` per threshold), by false positive rate
/// then recall; points without both rates are left out.
pub(crate) fn roc_points(m: &Value) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = m
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let x = p["falsePositiveRate"].as_f64()?;
            let y = p["recall"].as_f64()?;
            (x.is_finite() && y.is_finite()).then_some((x.clamp(0.0, 1.0), y.clamp(0.0, 1.0)))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points
}

/// The area under a ROC curve (trapezoids from (0, 0) to (1, 1) through `points`).
pub(crate) fn auc(points: &[(f64, f64)]) -> f64 {
    let mut all = Vec::with_capacity(points.len() + 2);
    all.push((0.0, 0.0));
    all.extend_from_slice(points);
    all.push((1.0, 1.0));
    all.windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

/// Colours of the curves of one chart, in order.
const CURVE_COLOURS: [&str; 10] = [
    "#6ea0ff", "#e5b443", "#3cc48a", "#ef5f5f", "#b58cf0", "#2cb9c9", "#f08cc4", "#9aa4b6",
    "#c9a36b", "#7fd46b",
];

/// ROC curves in one chart (true positive rate up, false positive rate across), each named in
/// the legend with its area under the curve; at most 10, as KFP's compare page.
pub(crate) fn roc_chart(curves: &[(String, &Value)]) -> String {
    const SIZE: f64 = 220.0;
    const M: f64 = 34.0;
    let at = |(x, y): (f64, f64)| (M + x * SIZE, M / 2.0 + (1.0 - y) * SIZE);
    let mut lines = String::new();
    let mut legend = String::new();
    for (i, (label, m)) in curves.iter().take(CURVE_COLOURS.len()).enumerate() {
        let points = roc_points(m);
        if points.is_empty() {
            continue;
        }
        let colour = CURVE_COLOURS[i];
        let path: Vec<String> = std::iter::once((0.0, 0.0))
            .chain(points.iter().copied())
            .chain(std::iter::once((1.0, 1.0)))
            .map(|p| {
                let (x, y) = at(p);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let area = auc(&points);
        lines.push_str(&format!(
            "<polyline data-testid=\"roc-line-{i}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"><title>{} (AUC {area:.3})</title></polyline>",
            path.join(" "),
            esc(label)
        ));
        legend.push_str(&format!(
            "<li><span class=\"swatch\" style=\"background:{colour}\"></span>{} <span class=\"muted\">AUC {area:.3}</span></li>",
            esc(label)
        ));
    }
    if lines.is_empty() {
        return String::new();
    }
    let (x0, y0) = at((0.0, 0.0));
    let (x1, y1) = at((1.0, 1.0));
    format!(
        "<figure class=\"roc\" data-testid=\"roc-curve\"><svg width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"ROC curve\">\
         <rect class=\"roc-frame\" x=\"{x0}\" y=\"{y1}\" width=\"{SIZE}\" height=\"{SIZE}\"></rect>\
         <line class=\"roc-chance\" x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y1}\"></line>{lines}\
         <text class=\"roc-axis\" x=\"{xm}\" y=\"{h}\" text-anchor=\"middle\">false positive rate</text>\
         <text class=\"roc-axis\" x=\"10\" y=\"{ym}\" text-anchor=\"middle\" transform=\"rotate(-90 10 {ym})\">true positive rate</text>\
         </svg><ul class=\"roc-legend\">{legend}</ul></figure>",
        w = SIZE + M + 8.0,
        h = SIZE + M + 2.0,
        xm = M + SIZE / 2.0,
        ym = M / 2.0 + SIZE / 2.0,
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_roc_curve_is_drawn_from_confidence_metrics_with_its_area() {
        // What `log_roc_curve([0, .1, .3, 1], [0, .7, .9, 1], thresholds)` writes, unordered.
        let m = json!([
            {"confidenceThreshold": 0.5, "recall": 0.9, "falsePositiveRate": 0.3},
            {"confidenceThreshold": 1.0, "recall": 0.0, "falsePositiveRate": 0.0},
            {"confidenceThreshold": 0.8, "recall": 0.7, "falsePositiveRate": 0.1},
            {"confidenceThreshold": 0.0, "recall": 1.0, "falsePositiveRate": 1.0},
            {"confidenceThreshold": 0.7, "recall": "high"}
        ]);
        assert_eq!(
            roc_points(&m),
            vec![(0.0, 0.0), (0.1, 0.7), (0.3, 0.9), (1.0, 1.0)]
        );
        assert!((auc(&roc_points(&m)) - 0.86).abs() < 1e-9);
        assert!((auc(&[]) - 0.5).abs() < 1e-9, "no points: the chance line");
        let other = json!([{"recall": 0.5, "falsePositiveRate": 0.5}]);
        let html = roc_chart(&[("run a <classes>".into(), &m), ("run b".into(), &other)]);
        assert!(
            html.contains("data-testid=\"roc-line-0\"")
                && html.contains("data-testid=\"roc-line-1\"")
        );
        assert!(
            html.contains("run a &lt;classes&gt; <span class=\"muted\">AUC 0.860</span>"),
            "{html}"
        );
        assert!(html.contains("AUC 0.500"));
        assert!(roc_chart(&[("none".into(), &json!([]))]).is_empty());
    }
}
