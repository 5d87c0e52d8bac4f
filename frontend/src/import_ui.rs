//! Opening files on the canvas: pipeline documents, compiled KFP pipelines (YAML or JSON, with
//! or without the platform document) and component YAML — from the Open button, from a file
//! dropped on the canvas, or from a URL.

use leptos::prelude::*;
use pipeline::import::KfpFile;
use pipeline::{Document, ImportError, Point};
use wasm_split_helpers::wasm_split;

use crate::chunks::Unloaded;
use crate::edit;
use crate::files;
use crate::state::{AppState, Selection};

/// What a file turned out to be.
#[derive(Debug)]
pub enum Opened {
    /// A whole pipeline (a document or a compiled spec) to show instead of the current one.
    Pipeline(Box<Document>),
    /// One component, to add as a task.
    Component(Box<pipeline::ComponentDef>),
}

/// What reading a KFP file gave.
#[derive(Debug)]
pub enum Read {
    /// The file, opened.
    Done(Opened),
    /// YAML: the browser build has no YAML parser, so the server parses it
    /// ([`from_documents`] then opens the documents).
    Yaml,
}

/// Why the importer chunk gave no file.
#[derive(Debug)]
enum Failure {
    /// The file is not right: the message names the source and says what is wrong and where.
    Bad(String),
    /// The importer chunk could not be fetched.
    Unloaded(Unloaded),
}

impl From<wasm_split_helpers::SplitLoaderError> for Failure {
    fn from(e: wasm_split_helpers::SplitLoaderError) -> Self {
        Failure::Unloaded(e.into())
    }
}

impl Failure {
    /// The status-bar message for a failed `verb` (`open`, `import`) of `source`.
    fn message(&self, verb: &str, source: &str) -> String {
        match self {
            Failure::Bad(e) => format!("Could not {verb} {e}"),
            Failure::Unloaded(e) => format!("Could not {verb} {source}: {e}"),
        }
    }
}

/// Reads `text` (from `source`, a file name or URL): a pipeline document, a compiled KFP
/// pipeline or a component, told apart by the core's `read_file`. A component file becomes a
/// component only when `as_component` is set (a drop onto a pipeline that has tasks); otherwise
/// it opens as a one-task pipeline. The error names the source and says what is wrong and where.
pub fn read(source: &str, text: &str, as_component: bool) -> Result<Read, String> {
    match pipeline::import::read_file(text) {
        Ok(file) => open_file_content(source, file, as_component).map(Read::Done),
        Err(ImportError::YamlUnavailable) => Ok(Read::Yaml),
        Err(e) => Err(format!("{source}: {e}")),
    }
}

/// Opens the YAML documents of a file (as the server's `POST /api/yaml` gives them).
pub fn from_documents(
    source: &str,
    documents: Vec<serde_json::Value>,
    as_component: bool,
) -> Result<Opened, String> {
    let file = pipeline::import::read_documents(documents).map_err(|e| format!("{source}: {e}"))?;
    open_file_content(source, file, as_component)
}

// The importer (KFP reader, v1 conversion, layout) is the `import` chunk, fetched the first time
// a KFP file is opened: most sessions never import, and it is a tenth of the app.

/// [`read`], from the importer chunk.
#[wasm_split(import, fallible)]
fn read_split(source: String, text: String, as_component: bool) -> Result<Read, Failure> {
    read(&source, &text, as_component).map_err(Failure::Bad)
}

/// [`from_documents`], from the importer chunk.
#[wasm_split(import, fallible)]
fn from_documents_split(
    source: String,
    documents: Vec<serde_json::Value>,
    as_component: bool,
) -> Result<Opened, Failure> {
    from_documents(&source, documents, as_component).map_err(Failure::Bad)
}

/// A read KFP file as a component (when `as_component` and it is one) or a pipeline.
fn open_file_content(source: &str, file: KfpFile, as_component: bool) -> Result<Opened, String> {
    if as_component {
        if let Ok(c) = pipeline::import::component_from_file(file.clone()) {
            return Ok(Opened::Component(Box::new(c)));
        }
    }
    pipeline::import::import_file(file)
        .map(|d| Opened::Pipeline(Box::new(d)))
        .map_err(|e| format!("{source}: {e}"))
}

/// Reads `text` from `source` and shows it: a document or a KFP file through the importer chunk,
/// YAML parsed by the server first. `verb` says what was being done, for the error (`open`,
/// `import`).
fn read_and_show(
    st: AppState,
    source: String,
    text: String,
    as_component: bool,
    at: Option<Point>,
    verb: &'static str,
) {
    leptos::task::spawn_local(async move {
        match read_split(source.clone(), text.clone(), as_component).await {
            Ok(Read::Done(o)) => show(st, &source, o, at),
            Ok(Read::Yaml) => crate::api::send_yaml(
                "/api/yaml".to_string(),
                text,
                move |r: Result<Vec<serde_json::Value>, String>| match r {
                    Ok(docs) => leptos::task::spawn_local(async move {
                        match from_documents_split(source.clone(), docs, as_component).await {
                            Ok(o) => show(st, &source, o, at),
                            Err(f) => st.error(f.message(verb, &source)),
                        }
                    }),
                    Err(e) => st.error(format!("Could not {verb} {source}: {e}")),
                },
            ),
            Err(f) => st.error(f.message(verb, &source)),
        }
    });
}

/// Shows what was read: a pipeline replaces the canvas (the previous one stays a step back in
/// Undo); a component becomes a task at `at` (or the view's centre).
pub fn show(st: AppState, source: &str, opened: Opened, at: Option<Point>) {
    match opened {
        Opened::Pipeline(doc) => {
            let tasks = doc.nodes.len();
            st.replace_document(*doc);
            crate::actions::forget_saved_id();
            st.success(format!(
                "Opened {source}: {tasks} task{}",
                if tasks == 1 { "" } else { "s" }
            ));
        }
        Opened::Component(def) => {
            let at = at.unwrap_or_else(|| crate::canvas::view_center(&st));
            let corner = Point {
                x: (at.x - pipeline::layout::NODE_WIDTH / 2.0).round(),
                y: (at.y - pipeline::layout::HEADER / 2.0).round(),
            };
            let key = def.name.clone();
            let mut id = String::new();
            st.edit(|d| id = edit::add_node(d, &key, &def, corner, at));
            let name = st
                .doc
                .with_untracked(|d| d.node(&id).map(|n| n.name.clone()).unwrap_or_default());
            st.select(Selection::Node(id));
            st.success(format!("Added task {name} from {source}"));
        }
    }
}

/// Opens `file` (the Open button): any pipeline or component file replaces the canvas.
pub fn open_file(st: AppState, file: web_sys::File) {
    leptos::task::spawn_local(async move {
        let name = file.name();
        match files::read_text(&file).await {
            Ok(text) => read_and_show(st, name, text, false, None, "open"),
            Err(e) => st.error(format!("Could not read {name}: {e}")),
        }
    });
}

/// A file dropped on the canvas at world point `at`: a component joins the current pipeline as a
/// task there (when it has tasks); anything else opens as the pipeline.
pub fn drop_file(st: AppState, file: web_sys::File, at: Option<Point>) {
    leptos::task::spawn_local(async move {
        let name = file.name();
        let as_component = st.doc.with_untracked(|d| !d.nodes.is_empty());
        match files::read_text(&file).await {
            Ok(text) => read_and_show(st, name, text, as_component, at, "import"),
            Err(e) => st.error(format!("Could not read {name}: {e}")),
        }
    });
}

/// Pasted text that is not a pipeline document: a component or pipeline file (YAML or JSON)
/// joins the pipeline as a task at `at`, like a dropped file.
pub fn paste_text(st: AppState, text: String, at: Point) {
    read_and_show(
        st,
        "the clipboard".to_string(),
        text,
        true,
        Some(at),
        "paste",
    );
}

/// Fetches `url` and imports it like a dropped file.
pub fn open_url(st: AppState, url: String) {
    let url = url.trim().to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        st.error(format!(
            "Cannot import {url:?}: give an http:// or https:// address of a pipeline or component YAML file"
        ));
        return;
    }
    st.info(format!("Fetching {url} …"));
    let as_component = st.doc.with_untracked(|d| !d.nodes.is_empty());
    let source = url.clone();
    crate::api::get_text(url, move |r| match r {
        Ok(text) => read_and_show(st, source, text, as_component, None, "import"),
        Err(e) => st.error(format!(
            "Could not fetch {source}: {e} (is the address right, and does its server allow \
             cross-origin requests?)"
        )),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &str = include_str!("../../components/builtin/generate_mar_file.yaml");

    /// The documents of a YAML text, as the server's `POST /api/yaml` gives them.
    fn documents(text: &str) -> Vec<serde_json::Value> {
        serde_yaml_ng::Deserializer::from_str(text)
            .map(|d| serde::Deserialize::deserialize(d).expect("YAML"))
            .collect()
    }

    #[test]
    fn documents_are_told_from_kfp_files() {
        let doc = Document::new("p");
        for as_component in [false, true] {
            match read("p.json", &doc.to_json(), as_component) {
                Ok(Read::Done(Opened::Pipeline(d))) => assert_eq!(*d, doc),
                other => panic!("expected the document, got {other:?}"),
            }
        }
        assert!(matches!(read("c.yaml", COMPONENT, false), Ok(Read::Yaml)));
        let e = read("s.json", "{\"pipelineInfo\": {\"name\": \"p\"}}", false)
            .expect_err("not a document, nor a whole spec");
        assert!(e.starts_with("s.json: not a KFP v2 spec"), "{e}");
        let newer = doc
            .to_json()
            .replace("pipeline-canvas/v1", "pipeline-canvas/v9");
        let e = read("p.json", &newer, false).expect_err("a newer document");
        assert!(e.contains("unsupported document format"), "{e}");
    }

    #[test]
    fn yaml_goes_to_the_server_and_json_specs_open_here() {
        assert!(matches!(read("c.yaml", COMPONENT, true), Ok(Read::Yaml)));
        let docs = documents(COMPONENT);
        assert!(matches!(
            from_documents("c.yaml", docs.clone(), true),
            Ok(Opened::Component(_))
        ));
        // The same component as JSON needs no server.
        let json = serde_json::to_string(&docs[0]).expect("json");
        assert!(matches!(
            read("c.json", &json, true),
            Ok(Read::Done(Opened::Component(_)))
        ));
    }

    #[test]
    fn component_files_become_tasks_only_when_asked() {
        let docs = documents(COMPONENT);
        match from_documents("c.yaml", docs, false) {
            Ok(Opened::Pipeline(d)) => assert_eq!(d.nodes.len(), 1),
            other => panic!("expected a one-task pipeline, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_source() {
        let e = read("bad.json", "{\"pipelineInfo\": 3}", false).expect_err("not a spec");
        assert!(e.starts_with("bad.json: "), "{e}");
        let e = read("empty.yaml", "", false).expect_err("empty");
        assert!(e.contains("empty"), "{e}");
        let e = from_documents("x.yaml", vec![serde_json::json!([1])], false).expect_err("a list");
        assert!(e.starts_with("x.yaml: ") && e.contains("mapping"), "{e}");
    }
}
