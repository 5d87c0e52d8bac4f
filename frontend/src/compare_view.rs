//! Comparing runs (the Runs tab, part of the `runs` chunk): the runs picked in the table side
//! by side — every column of the runs table (state, times, `param.*`, `metric.*`) as a row with
//! one cell per run, rows whose values differ marked, "Only differences" hiding the rest — and
//! each run's confusion matrices (its `system.ClassificationMetrics` artifacts, from
//! `GET /api/lineage`) next to each other, their ROC curves in one chart, and the graph diff
//! of two of them
//! ([`crate::run_diff_view`]).

use ::api::run_table::cell_text;
use ::api::{Lineage, RunDiff, RunTable};
use leptos::prelude::*;
use serde_json::Value;

use crate::api;
use crate::html::esc;

/// The comparison of the runs `ids` (in that order) of `t` as an HTML table; with `only_diff`,
/// the columns where every run has the same value are left out. Columns no run has a value
/// for are always left out.
pub fn compare_html(t: &RunTable, ids: &[String], only_diff: bool) -> String {
    let rows: Vec<&::api::RunTableRow> = ids
        .iter()
        .filter_map(|id| t.rows.iter().find(|r| &r.id == id))
        .collect();
    let mut out = String::from(
        "<table class=\"runs-table compare-table\" data-testid=\"compare-table\"><thead><tr><th>run</th>",
    );
    for r in &rows {
        out.push_str(&format!(
            "<th class=\"mono\" title=\"{id}\">{}</th>",
            esc(&r.id.chars().take(8).collect::<String>()),
            id = esc(&r.id)
        ));
    }
    out.push_str("</tr></thead><tbody>");
    let mut hidden = 0;
    for (i, column) in t.columns.iter().enumerate() {
        if column == "run_name" {
            continue;
        }
        let values: Vec<String> = rows
            .iter()
            .map(|r| cell_text(r.cells.get(i).unwrap_or(&Value::Null)))
            .collect();
        if values.iter().all(String::is_empty) {
            continue;
        }
        let differs = values.windows(2).any(|w| w[0] != w[1]);
        if only_diff && !differs {
            hidden += 1;
            continue;
        }
        let c = esc(column);
        out.push_str(&format!(
            "<tr class=\"{}\" data-testid=\"compare-row-{c}\"><th>{c}</th>",
            if differs { "differs" } else { "same" }
        ));
        for v in &values {
            out.push_str(&format!("<td title=\"{v}\">{v}</td>", v = esc(v)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if hidden > 0 {
        out.push_str(&format!(
            "<p class=\"muted\" data-testid=\"compare-hidden\">{hidden} equal column{} hidden</p>",
            if hidden == 1 { "" } else { "s" }
        ));
    }
    out
}

/// The confusion matrices of one run's lineage as HTML: one per `system.ClassificationMetrics`
/// artifact its tasks wrote, titled with the artifact's name.
pub fn matrices_html(lineage: &Lineage) -> String {
    let html: String = lineage
        .artifacts
        .iter()
        .filter(|a| a.schema_title == "system.ClassificationMetrics")
        .filter_map(|a| {
            let m = a.metadata.get("confusionMatrix")?;
            Some(format!(
                "<h4>{}</h4>{}",
                esc(&a.name),
                crate::artifact_view::confusion_matrix(m)
            ))
        })
        .collect();
    if html.is_empty() {
        "<p class=\"muted\">no confusion matrix</p>".to_string()
    } else {
        html
    }
}

/// The ROC curves of the runs `ids` (their lineages `all`, in the same order) in one chart:
/// one curve per `system.ClassificationMetrics` artifact with `confidenceMetrics`, named by
/// run and artifact.
pub fn roc_html(ids: &[String], all: &[Option<Result<Lineage, String>>]) -> String {
    if all.iter().any(Option::is_none) {
        return "<p class=\"muted\">Loading…</p>".into();
    }
    let curves: Vec<(String, &Value)> = ids
        .iter()
        .zip(all)
        .filter_map(|(id, l)| Some((id, l.as_ref()?.as_ref().ok()?)))
        .flat_map(|(id, l)| {
            l.artifacts
                .iter()
                .filter(|a| a.schema_title == "system.ClassificationMetrics")
                .filter_map(move |a| {
                    let m = a.metadata.get("confidenceMetrics")?;
                    let short: String = id.chars().take(8).collect();
                    Some((format!("{short} {}", a.name), m))
                })
        })
        .collect();
    let html = crate::artifact_view::roc_chart(&curves);
    if html.is_empty() {
        "<p class=\"muted\">no ROC curve</p>".into()
    } else {
        html
    }
}

/// The comparison of the runs `picked` of `table`, over the editor; `close` ends it.
#[component]
pub fn CompareRuns(
    table: RwSignal<Option<Result<RunTable, String>>>,
    picked: RwSignal<Vec<String>>,
    close: Callback<()>,
) -> impl IntoView {
    let only_diff = RwSignal::new(false);
    let ids = picked.get_untracked();
    // Each run's lineage: its confusion matrices and ROC curves.
    let lineages = RwSignal::new(vec![None::<Result<Lineage, String>>; ids.len()]);
    for (i, id) in ids.iter().enumerate() {
        let url = format!("/api/lineage?run={}", api::encode(id));
        api::get::<Lineage>(url, move |r| {
            lineages.try_update(|m| {
                if let Some(slot) = m.get_mut(i) {
                    *slot = Some(r);
                }
            });
        });
    }
    let roc = {
        let ids = ids.clone();
        move || lineages.with(|all| roc_html(&ids, all))
    };
    // The graph diff: run B against run A, two of the picked runs (the first two at first).
    let pair = RwSignal::new((
        ids.first().cloned().unwrap_or_default(),
        ids.get(1).cloned().unwrap_or_default(),
    ));
    let graph = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let (a, b) = pair.get();
        graph.set(None);
        if a.is_empty() || b.is_empty() {
            return;
        }
        let url = format!("/api/runs/{}/diff/{}", api::encode(&a), api::encode(&b));
        api::get::<RunDiff>(url, move |r| {
            // An answer for a pair no longer chosen is dropped.
            if pair.try_get_untracked() != Some((a, b)) {
                return;
            }
            graph.try_set(Some(match r {
                Ok(d) => crate::run_diff_view::diff_html(&d),
                Err(e) => format!("<p class=\"field-error\">{}</p>", esc(&e)),
            }));
        });
    });
    let choice = move |side: usize| {
        let options = ids
            .iter()
            .map(|id| {
                let short: String = id.chars().take(8).collect();
                view! { <option value=id.clone() selected={
                    let id = id.clone();
                    move || pair.with(|p| if side == 0 { p.0 == id } else { p.1 == id })
                }>{short}</option> }
            })
            .collect_view();
        view! {
            <select data-testid=format!("compare-diff-{}", if side == 0 { "a" } else { "b" })
                aria-label=if side == 0 { "Run A of the graph diff" } else { "Run B of the graph diff" }
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    pair.update(|p| if side == 0 { p.0 = v } else { p.1 = v });
                }>
                {options}
            </select>
        }
    };
    let body = move || {
        let only = only_diff.get();
        picked.with(|ids| {
            table.with(|t| match t {
                Some(Ok(t)) => compare_html(t, ids, only),
                _ => String::new(),
            })
        })
    };
    let columns = move || {
        let ids = picked.get_untracked();
        lineages.with(|m| {
            ids.iter()
                .zip(m.iter())
                .map(|(id, lineage)| {
                    let html = match lineage {
                        None => "<p class=\"muted\">Loading…</p>".to_string(),
                        Some(Ok(l)) => matrices_html(l),
                        Some(Err(e)) => format!("<p class=\"field-error\">{}</p>", esc(e)),
                    };
                    format!(
                        "<div class=\"compare-run\" data-testid=\"compare-matrices-{id}\"><h3 class=\"mono\">{}</h3>{html}</div>",
                        esc(&id.chars().take(8).collect::<String>()),
                        id = esc(id)
                    )
                })
                .collect::<String>()
        })
    };
    view! {
        <div class="lineage-overlay compare-overlay" data-testid="compare-view" role="dialog" aria-label="Compare runs">
            <header class="lineage-bar">
                <h2>{move || format!("Compare {} runs", picked.with(Vec::len))}</h2>
                <label>
                    <input type="checkbox" data-testid="compare-only-diff"
                        prop:checked=move || only_diff.get()
                        on:change=move |ev| only_diff.set(event_target_checked(&ev)) />
                    "Only differences"
                </label>
                <button class="icon lineage-close" data-testid="compare-close" aria-label="Close the comparison"
                    on:click=move |_| close.run(())>"✕"</button>
            </header>
            <div class="compare-body">
                <div inner_html=body></div>
                <h3>"Confusion matrices"</h3>
                <div class="compare-matrices" inner_html=columns></div>
                <h3>"ROC curves"</h3>
                <div class="compare-roc" data-testid="compare-roc" inner_html=roc></div>
                <h3 class="diff-title">"Graph diff: run A "{choice(0)}" → run B "{choice(1)}</h3>
                <div class="compare-diff" data-testid="compare-diff" inner_html=move || {
                    graph.get().unwrap_or_else(|| "<p class=\"muted\">Loading…</p>".into())
                }></div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::api::RunTableRow;
    use serde_json::json;

    fn table() -> RunTable {
        let row = |id: &str, state: &str, lr: Value, acc: Value| RunTableRow {
            id: id.into(),
            cells: vec![
                json!("p"),
                json!(id),
                json!(state),
                json!("local"),
                lr,
                acc,
                Value::Null,
            ],
            error: None,
            console_link: None,
        };
        RunTable {
            columns: [
                "pipeline_name",
                "run_name",
                "state",
                "target",
                "param.lr",
                "metric.accuracy",
                "metric.none",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![
                row("run-a", "SUCCEEDED", json!(0.1), json!(0.9)),
                row("run-b", "SUCCEEDED", json!(0.01), json!(0.9)),
                row("run-c", "SUCCEEDED", json!(0.5), json!(0.8)),
            ],
            total: 3,
        }
    }

    #[test]
    fn differing_rows_are_marked_and_only_differences_hides_the_rest() {
        let t = table();
        let ids = ["run-b".to_string(), "run-a".to_string()];
        let all = compare_html(&t, &ids, false);
        assert!(
            all.contains("data-testid=\"compare-row-param.lr\""),
            "{all}"
        );
        assert!(all.contains("<tr class=\"differs\" data-testid=\"compare-row-param.lr\">"));
        assert!(all.contains("<tr class=\"same\" data-testid=\"compare-row-metric.accuracy\">"));
        assert!(
            !all.contains("compare-row-metric.none"),
            "empty columns are left out"
        );
        assert!(
            !all.contains("compare-row-run_name"),
            "the runs are the header"
        );
        // The runs in the order picked.
        assert!(all.find(">run-b<").unwrap_or(usize::MAX) < all.find(">run-a<").unwrap_or(0));
        let diff = compare_html(&t, &ids, true);
        assert!(diff.contains("compare-row-param.lr"));
        assert!(!diff.contains("compare-row-metric.accuracy"));
        assert!(diff.contains("4 equal columns hidden"), "{diff}");
        let three = compare_html(&t, &["run-a".into(), "run-b".into(), "run-c".into()], true);
        assert!(three.contains("compare-row-metric.accuracy"), "c differs");
    }

    #[test]
    fn matrices_come_from_classification_metrics_artifacts() {
        let l: Lineage = serde_json::from_value(json!({
            "artifacts": [
                {"id": 1, "uri": "/m", "name": "classes", "schemaTitle": "system.ClassificationMetrics",
                 "metadata": {"confusionMatrix": {"annotationSpecs": [{"displayName": "cat"}, {"displayName": "dog"}],
                   "rows": [{"row": [7, 1]}, {"row": [2, 9]}]}},
                 "state": "LIVE", "createdAt": "t"},
                {"id": 2, "uri": "/n", "name": "metrics", "schemaTitle": "system.Metrics",
                 "metadata": {"accuracy": 0.9}, "state": "LIVE", "createdAt": "t"}
            ],
            "executions": [], "events": []
        }))
        .expect("lineage");
        let html = matrices_html(&l);
        assert!(
            html.contains("<h4>classes</h4>") && html.contains("confusion-matrix"),
            "{html}"
        );
        assert!(!html.contains("metrics"));
        assert!(matrices_html(&Lineage::default()).contains("no confusion matrix"));
        let ids = ["run-aaaaaaaa1".to_string(), "run-b".to_string()];
        let mut with_roc = l.clone();
        with_roc.artifacts[0].metadata.insert(
            "confidenceMetrics".into(),
            json!([{"falsePositiveRate": 0.1, "recall": 0.7, "confidenceThreshold": 0.8}]),
        );
        let roc = roc_html(&ids, &[Some(Ok(with_roc)), Some(Ok(l.clone()))]);
        assert!(
            roc.contains("roc-line-0") && !roc.contains("roc-line-1"),
            "{roc}"
        );
        assert!(roc.contains("run-aaaa classes"), "{roc}");
        assert!(roc_html(&ids, &[Some(Ok(l.clone())), None]).contains("Loading"));
        assert!(roc_html(&ids, &[Some(Ok(l)), Some(Err("x".into()))]).contains("no ROC curve"));
    }
}
