//! Remote run targets in the browser: the target picker's choice (kept in `localStorage`), the
//! settings dialog of Vertex AI Pipelines and Kubeflow Pipelines (`GET/PUT /api/targets`), the
//! console links of remote runs, and which setting a refused submit names. The settings hold
//! no credentials (the server takes them from its environment), and nothing here stores any.

use std::collections::BTreeMap;

use ::api::TargetsConfig;
use leptos::prelude::*;
use pipeline::map::Map;

use crate::api;
use crate::html::esc;
use crate::run_live::use_runs;
use crate::state::use_state;

/// The targets of the picker (its options, in `run_controls.rs`).
const TARGETS: [&str; 3] = ["local", "vertex", "kfp"];

/// The `localStorage` key of the chosen target.
const STORAGE_KEY: &str = "pipeline-canvas.run-target";

/// The settings fields: `(target, key, label, placeholder)`; a field's id is `target-key`.
const FIELDS: [(&str, &str, &str, &str); 12] = [
    ("vertex", "project", "Project", "my-project"),
    ("vertex", "region", "Region", "us-central1"),
    (
        "vertex",
        "pipelineRoot",
        "Pipeline root",
        "gs://bucket/pipeline-root",
    ),
    (
        "vertex",
        "serviceAccount",
        "Service account",
        "sa@project.iam.gserviceaccount.com",
    ),
    (
        "vertex",
        "network",
        "Network",
        "projects/123/global/networks/default",
    ),
    ("vertex", "labels", "Labels", "team=ml, env=dev"),
    (
        "vertex",
        "encryptionKey",
        "Encryption key",
        "projects/…/cryptoKeys/…",
    ),
    ("vertex", "enableCaching", "Caching", ""),
    ("kfp", "host", "Host", "http://localhost:8080"),
    ("kfp", "namespace", "Namespace", "kubeflow-user"),
    ("kfp", "experiment", "Experiment", "Default"),
    (
        "kfp",
        "pipelineRoot",
        "Pipeline root",
        "minio://mlpipeline/v2/artifacts",
    ),
];

/// The target chosen last in this browser (`local` when none or unknown).
pub fn load_target() -> String {
    crate::autosave::local()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .filter(|t| TARGETS.contains(&t.as_str()))
        .unwrap_or_else(|| "local".to_string())
}

/// Remembers the chosen target in this browser.
pub fn save_target(target: &str) {
    if let Some(s) = crate::autosave::local() {
        // A browser refusing storage (private mode, quota) only loses the preference.
        let _ = s.set_item(STORAGE_KEY, target);
    }
}

/// The service's name: `Vertex AI`, `Kubeflow Pipelines`, or `the local engine`.
pub fn service_name(target: &str) -> &'static str {
    match target {
        "vertex" => "Vertex AI",
        "kfp" => "Kubeflow Pipelines",
        _ => "the local engine",
    }
}

/// A link to a remote run's console page (opens a new tab) as HTML text, or nothing when
/// there is no link or it is not an http(s) URL.
pub fn console_link_html(target: Option<&str>, link: Option<&str>, testid: &str) -> String {
    let Some(link) = link.filter(|l| l.starts_with("https://") || l.starts_with("http://")) else {
        return String::new();
    };
    format!(
        "<a class=\"console-link\" href=\"{}\" target=\"_blank\" rel=\"noopener\" data-testid=\"{}\" title=\"{0}\">{} console ↗</a>",
        esc(link),
        esc(testid),
        esc(service_name(target.unwrap_or_default())),
    )
}

/// The run panel's line about where a run runs, with its console link, as HTML text.
pub fn run_target_html(target: Option<&str>, link: Option<&str>) -> String {
    format!(
        "<p class=\"run-console\">Runs on <span data-testid=\"run-summary-target\">{}</span> {}</p>",
        esc(service_name(target.unwrap_or_default())),
        console_link_html(target, link, "run-console-link")
    )
}

/// The settings field (`vertex-project`, `kfp-host`, …) a refused submit's message names, when
/// it is about a setting (the backend's `the Vertex AI project is not set: … set "project" in
/// the vertex settings …`, `the Vertex AI pipeline root must be …`, `the Kubeflow Pipelines
/// host …`).
pub fn setting_of(message: &str) -> Option<String> {
    let target = if message.starts_with("the Vertex AI ") {
        "vertex"
    } else if message.starts_with("the Kubeflow Pipelines ") {
        "kfp"
    } else {
        return None;
    };
    let named = message
        .split_once("set \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(key, _)| key.to_string());
    let key = named.or_else(|| {
        let what = message.split_whitespace().nth(3)?;
        Some(match what {
            "pipeline" => "pipelineRoot".to_string(),
            w => w.to_string(),
        })
    })?;
    FIELDS
        .iter()
        .any(|(t, k, _, _)| *t == target && *k == key)
        .then(|| format!("{target}-{key}"))
}

/// The text setting behind form field `id` (`vertex-project`, `kfp-host`, …); none for the
/// labels and the caching choice, which are not text.
fn text_field<'a>(c: &'a mut TargetsConfig, id: &str) -> Option<&'a mut Option<String>> {
    let (v, k) = (&mut c.vertex, &mut c.kfp);
    Some(match id {
        "vertex-project" => &mut v.project,
        "vertex-region" => &mut v.region,
        "vertex-pipelineRoot" => &mut v.pipeline_root,
        "vertex-serviceAccount" => &mut v.service_account,
        "vertex-network" => &mut v.network,
        "vertex-encryptionKey" => &mut v.encryption_key,
        "kfp-host" => &mut k.host,
        "kfp-namespace" => &mut k.namespace,
        "kfp-experiment" => &mut k.experiment,
        "kfp-pipelineRoot" => &mut k.pipeline_root,
        _ => return None,
    })
}

/// Parses `k=v, k2=v2` labels.
fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for item in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => return Err(format!("{item:?} is not KEY=VALUE")),
        }
    }
    Ok(out)
}

/// The settings as `GET /api/targets` answers them → the form's text per field id.
fn to_form(mut config: TargetsConfig) -> Map<String> {
    FIELDS
        .iter()
        .map(|(t, k, _, _)| {
            let id = format!("{t}-{k}");
            let text = match id.as_str() {
                "vertex-labels" => config
                    .vertex
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                "vertex-enableCaching" => config
                    .vertex
                    .enable_caching
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                _ => text_field(&mut config, &id)
                    .and_then(Option::take)
                    .unwrap_or_default(),
            };
            (id, text)
        })
        .collect()
}

/// Checks the form and makes the settings of `PUT /api/targets` from it, or the problems per
/// field id. An empty field is a setting left unset.
fn from_form(form: &Map<String>) -> Result<TargetsConfig, Map<String>> {
    let get = |id: &str| form.get(id).map(|s| s.trim()).unwrap_or_default();
    let mut errors = Map::new();
    let mut config = TargetsConfig::default();
    for (t, key, _, _) in FIELDS {
        let id = format!("{t}-{key}");
        let text = get(&id);
        if text.is_empty() {
            continue;
        }
        match id.as_str() {
            "vertex-labels" => match parse_labels(text) {
                Ok(labels) => config.vertex.labels = labels,
                Err(e) => {
                    errors.insert(id, format!("Labels are KEY=VALUE, comma-separated: {e}"));
                }
            },
            "vertex-enableCaching" => config.vertex.enable_caching = Some(text == "true"),
            _ => {
                if let Some(field) = text_field(&mut config, &id) {
                    *field = Some(text.to_string());
                }
            }
        }
    }
    let root = get("vertex-pipelineRoot");
    if !root.is_empty() && !root.starts_with("gs://") {
        errors.insert(
            "vertex-pipelineRoot".into(),
            "The pipeline root must be a Cloud Storage URI: gs://bucket/path".into(),
        );
    }
    let vertex_used = FIELDS
        .iter()
        .any(|(t, k, _, _)| *t == "vertex" && !get(&format!("{t}-{k}")).is_empty());
    if vertex_used && get("vertex-region").is_empty() {
        errors.insert(
            "vertex-region".into(),
            "The region is needed, e.g. us-central1".into(),
        );
    }
    let host = get("kfp-host");
    if !(host.is_empty() || host.starts_with("http://") || host.starts_with("https://")) {
        errors.insert(
            "kfp-host".into(),
            "The host must be an http:// or https:// URL".into(),
        );
    }
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// The form's fields as HTML text: their values, placeholders and problems (all escaped).
/// Set with `inner_html` (one element instead of a view per field keeps the wasm small); it is
/// re-rendered only when the settings load or Save finds problems, so typing is not disturbed.
fn form_html(values: &Map<String>, errors: &Map<String>, general: &str) -> String {
    let mut out = String::new();
    for (t, key, label, hint) in FIELDS {
        if key == "project" || (t == "kfp" && key == "host") {
            out.push_str(&format!(
                "<h4>{}</h4>",
                if t == "vertex" {
                    "Vertex AI Pipelines"
                } else {
                    "Kubeflow Pipelines"
                }
            ));
        }
        let id = format!("{t}-{key}");
        let value = values.get(&id).map(String::as_str).unwrap_or_default();
        let error = errors.get(&id);
        let input = if key == "enableCaching" {
            let opt = |v: &str, text: &str| {
                format!(
                    "<option value=\"{v}\"{}>{text}</option>",
                    if value == v { " selected" } else { "" }
                )
            };
            format!(
                "<select data-field=\"{id}\" data-testid=\"target-{id}\">{}{}{}</select>",
                opt("", "As in the pipeline"),
                opt("true", "On for every task"),
                opt("false", "Off for every task"),
            )
        } else {
            format!(
                "<input type=\"text\" data-field=\"{id}\" data-testid=\"target-{id}\" placeholder=\"{}\" value=\"{}\"{}>",
                esc(hint),
                esc(value),
                if error.is_some() { " class=\"invalid\"" } else { "" },
            )
        };
        let error = error
            .map(|e| {
                format!(
                    "<span class=\"field-error\" data-testid=\"target-error-{id}\">{}</span>",
                    esc(e)
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "<label class=\"field\"><span class=\"field-label\"><span class=\"field-name\">{}</span></span>{input}{error}</label>",
            esc(label)
        ));
    }
    if !general.is_empty() {
        out.push_str(&format!(
            "<div class=\"field-error block\" data-testid=\"target-settings-error\">{}</div>",
            esc(general)
        ));
    }
    out
}

/// The current text of every field of the rendered form.
fn read_form(form: &web_sys::Element) -> Map<String> {
    FIELDS
        .iter()
        .filter_map(|(t, k, _, _)| {
            let id = format!("{t}-{k}");
            let el = form
                .query_selector(&format!("[data-field=\"{id}\"]"))
                .ok()??;
            let v = js_sys::Reflect::get(&el, &"value".into())
                .ok()?
                .as_string()?;
            Some((id, v))
        })
        .collect()
}

/// The settings dialog of the remote targets: loads them, checks them, saves them.
#[component]
pub fn TargetSettings() -> impl IntoView {
    let st = use_state();
    let ctx = use_runs();
    let values = RwSignal::new(Map::<String>::new());
    let errors = RwSignal::new(
        ctx.setting_error
            .get_untracked()
            .into_iter()
            .collect::<Map<_>>(),
    );
    let general = RwSignal::new(String::new());
    let loaded = RwSignal::new(false);
    api::get::<TargetsConfig>("/api/targets".into(), move |r| match r {
        Ok(config) => {
            values.try_set(to_form(config));
            loaded.try_set(true);
        }
        Err(e) => {
            general.try_set(format!("Cannot load the target settings: {e}"));
        }
    });
    let fields = NodeRef::<leptos::html::Div>::new();
    let close = move || {
        ctx.settings.set(false);
        ctx.setting_error.set(None);
    };
    let save = move || {
        let Some(el) = fields.get_untracked() else {
            return;
        };
        let form = read_form(&el);
        // Kept, so that a re-rendered form shows what was typed.
        values.set(form.clone());
        match from_form(&form).map(|c| serde_json::to_string(&c)) {
            Err(e) => errors.set(e),
            Ok(Err(e)) => general.set(format!("Cannot write the settings: {e}")),
            Ok(Ok(body)) => {
                errors.set(Map::new());
                general.set(String::new());
                api::send::<TargetsConfig>("PUT", "/api/targets".into(), body, move |r| match r {
                    Ok(_) => {
                        st.success("Saved the target settings");
                        close();
                    }
                    Err(e) => {
                        general.try_set(format!("Cannot save the settings: {e}"));
                    }
                });
            }
        }
    };
    view! {
        <div class="modal-backdrop" on:click=move |_| close()></div>
        <form
            class="modal target-settings"
            data-testid="target-settings"
            data-loaded=move || loaded.get().to_string()
            on:submit=move |ev| {
                ev.prevent_default();
                save();
            }
        >
            <h3>"Run targets"</h3>
            <p class="muted">"Where ▶ Run submits remote runs. Credentials are not set here: the server uses Application Default Credentials or PIPELINE_CANVAS_ACCESS_TOKEN for Vertex AI, PIPELINE_CANVAS_KFP_TOKEN for Kubeflow Pipelines."</p>
            <div node_ref=fields inner_html=move || values.with(|v| errors.with(|e| general.with(|g| form_html(v, e, g))))></div>
            <div class="modal-buttons">
                <button type="button" on:click=move |_| close()>"Close"</button>
                <button type="submit" class="primary" data-testid="btn-target-save">"Save"</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_submit_names_its_setting() {
        assert_eq!(
            setting_of("the Vertex AI project is not set: pass --project or set \"project\" in the vertex settings (targets.json, PUT /api/targets)").as_deref(),
            Some("vertex-project")
        );
        assert_eq!(
            setting_of("the Vertex AI pipeline root is not set: pass --pipeline-root or set \"pipelineRoot\" in the vertex settings").as_deref(),
            Some("vertex-pipelineRoot")
        );
        assert_eq!(
            setting_of("the Vertex AI pipeline root must be a Cloud Storage URI (gs://bucket/path), not \"/tmp\"").as_deref(),
            Some("vertex-pipelineRoot")
        );
        assert_eq!(
            setting_of("the Kubeflow Pipelines host must be an http:// or https:// URL, not \"x\"")
                .as_deref(),
            Some("kfp-host")
        );
        assert_eq!(
            setting_of("Vertex AI answered HTTP 400 (INVALID_ARGUMENT): bad"),
            None
        );
        assert_eq!(setting_of("the pipeline has 2 errors"), None);
    }

    fn form(pairs: &[(&str, &str)]) -> Map<String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The settings' JSON, as `PUT /api/targets` is sent them.
    fn json(c: &TargetsConfig) -> serde_json::Value {
        serde_json::to_value(c).expect("JSON")
    }

    #[test]
    fn the_form_becomes_the_settings_and_back() {
        let f = form(&[
            ("vertex-project", "p"),
            ("vertex-region", " us-central1 "),
            ("vertex-pipelineRoot", "gs://b/r"),
            ("vertex-labels", "team=ml, env = dev"),
            ("vertex-enableCaching", "false"),
            ("kfp-host", "http://kfp:8080"),
        ]);
        let config = from_form(&f).expect("valid");
        assert_eq!(
            json(&config),
            serde_json::json!({
                "vertex": {"project": "p", "region": "us-central1", "pipelineRoot": "gs://b/r",
                           "labels": {"team": "ml", "env": "dev"}, "enableCaching": false},
                "kfp": {"host": "http://kfp:8080"}
            })
        );
        let back = to_form(config.clone());
        assert_eq!(back["vertex-labels"], "env=dev, team=ml");
        assert_eq!(back["vertex-enableCaching"], "false");
        assert_eq!(back["kfp-namespace"], "");
        assert_eq!(from_form(&back).expect("valid"), config);
        assert_eq!(
            serde_json::to_string(&from_form(&Map::new()).expect("empty is valid")).expect("JSON"),
            r#"{"vertex":{},"kfp":{}}"#
        );
        let quoted = from_form(&form(&[("kfp-namespace", "a\"b\\c")])).expect("valid");
        assert_eq!(quoted.kfp.namespace.as_deref(), Some("a\"b\\c"));
    }

    #[test]
    fn every_field_is_a_setting() {
        // Each field filled with a value of its own: all of them reach the settings and come
        // back to their own field.
        let filled: Map<String> = FIELDS
            .iter()
            .map(|(t, k, _, _)| {
                let id = format!("{t}-{k}");
                let value = match id.as_str() {
                    "vertex-labels" => "k=v".to_string(),
                    "vertex-enableCaching" => "true".to_string(),
                    "vertex-pipelineRoot" => "gs://b/r".to_string(),
                    "kfp-host" => "https://kfp".to_string(),
                    _ => format!("value of {id}"),
                };
                (id, value)
            })
            .collect();
        let config = from_form(&filled).expect("valid");
        let sections = json(&config);
        for (t, k, _, _) in FIELDS {
            assert!(!sections[t][k].is_null(), "{t}-{k} is not a setting");
        }
        assert_eq!(to_form(config), filled);
    }

    #[test]
    fn obvious_mistakes_are_caught_per_field() {
        let e = from_form(&form(&[
            ("vertex-project", "p"),
            ("vertex-pipelineRoot", "/tmp/root"),
            ("vertex-labels", "nokey"),
            ("kfp-host", "localhost:8080"),
        ]))
        .expect_err("invalid");
        let keys: Vec<&str> = e.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "kfp-host",
                "vertex-labels",
                "vertex-pipelineRoot",
                "vertex-region"
            ]
        );
        assert!(e["vertex-pipelineRoot"].contains("gs://"));
    }

    #[test]
    fn the_form_shows_values_and_problems_escaped() {
        let html = form_html(
            &form(&[
                ("vertex-project", "p\"><b>"),
                ("vertex-enableCaching", "false"),
            ]),
            &form(&[("vertex-region", "The region is <needed>")]),
            "",
        );
        assert!(html.contains("data-testid=\"target-vertex-project\" placeholder=\"my-project\" value=\"p&quot;&gt;&lt;b&gt;\""));
        assert!(html.contains("<option value=\"false\" selected>"));
        assert!(html.contains("class=\"invalid\""));
        assert!(html.contains(
            "<span class=\"field-error\" data-testid=\"target-error-vertex-region\">The region is &lt;needed&gt;</span>"
        ));
        assert_eq!(html.matches("data-field=").count(), FIELDS.len());
    }

    #[test]
    fn console_links_are_escaped_and_only_http() {
        let a = console_link_html(
            Some("vertex"),
            Some("https://console.cloud.google.com/x?a=1&b=\"2\""),
            "t",
        );
        assert!(a.contains("href=\"https://console.cloud.google.com/x?a=1&amp;b=&quot;2&quot;\""));
        assert!(a.contains("target=\"_blank\" rel=\"noopener\""));
        assert!(a.contains("Vertex AI console"));
        assert_eq!(
            console_link_html(Some("vertex"), Some("javascript:alert(1)"), "t"),
            ""
        );
        assert_eq!(console_link_html(None, None, "t"), "");
    }
}
