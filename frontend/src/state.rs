//! The application state shared by every component (through Leptos context).

use leptos::html::Div;
use leptos::prelude::*;
use pipeline::ir::PipelineSpec;
use pipeline::{ComponentDef, Diagnostic, Document, OutputFormat, Point, PortRef, PortType, Size};
use serde::Deserialize;

use crate::edit::Item;

/// How many edits Undo can take back.
const HISTORY_LIMIT: usize = 100;

/// A component offered by the palette (`GET /api/components`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CatalogEntry {
    /// Catalog id, also the key the component is embedded under.
    pub id: String,
    /// Short title.
    pub title: String,
    /// Palette section.
    #[serde(default)]
    pub category: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The definition embedded into documents.
    pub component: ComponentDef,
}

/// An example pipeline (`GET /api/examples`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExampleInfo {
    /// Id for `GET /api/examples/{id}`.
    pub id: String,
    /// Title for the menu.
    pub title: String,
}

/// What is selected on the canvas.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    /// Nothing.
    #[default]
    None,
    /// A node, by id.
    Node(String),
    /// A wire, by id.
    Wire(String),
    /// A group frame, by id.
    Group(String),
}

/// The tab shown in the right-hand panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// The selected node or group.
    #[default]
    Properties,
    /// Name, description, root and parameters of the pipeline.
    Pipeline,
    /// The compiled spec.
    Spec,
    /// The selected element's task in the run shown.
    Run,
    /// The runs of the local engine.
    Runs,
}

/// The tone of a status-bar message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// Neutral information.
    Info,
    /// Something worked.
    Success,
    /// Something was refused or failed.
    Error,
}

/// A status-bar message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Tone.
    pub kind: StatusKind,
    /// Text.
    pub text: String,
    /// Increases with each message, so the same text shown twice still flashes.
    pub seq: u64,
}

/// Where the canvas is looking: world = (screen − pan) / zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Horizontal pan in screen pixels.
    pub x: f64,
    /// Vertical pan in screen pixels.
    pub y: f64,
    /// Scale factor.
    pub zoom: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Self {
            x: 40.0,
            y: 40.0,
            zoom: 1.0,
        }
    }
}

/// What a palette item creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteItem {
    /// A task running the catalog component with this id.
    Component(String),
    /// A condition frame.
    Condition,
    /// A loop (ParallelFor) frame.
    Loop,
    /// An exit handler frame.
    ExitHandler,
}

/// A pointer interaction in progress.
#[derive(Debug, Clone, PartialEq)]
pub enum Drag {
    /// Dragging a palette item (towards the canvas).
    Palette {
        /// What it creates.
        item: PaletteItem,
        /// Title shown on the ghost.
        label: String,
        /// Where the pointer went down.
        start: (f64, f64),
        /// The pointer, in client pixels.
        client: (f64, f64),
    },
    /// Moving nodes and frames together.
    Move {
        /// The item grabbed (regrouped on drop).
        grabbed: Item,
        /// Where the pointer went down.
        start: (f64, f64),
        /// Positions at the start.
        orig: Vec<(Item, Point)>,
        /// The document before, for Undo.
        before: Box<Document>,
        /// Whether the pointer moved yet.
        moved: bool,
    },
    /// Resizing a frame by its corner.
    Resize {
        /// Group id.
        group: String,
        /// Where the pointer went down.
        start: (f64, f64),
        /// Size at the start.
        orig: Size,
        /// The document before, for Undo.
        before: Box<Document>,
    },
    /// Drawing a wire from an output port.
    Wire {
        /// The output.
        from: PortRef,
        /// Its type.
        ty: PortType,
        /// The pointer, in canvas coordinates.
        cursor: Point,
    },
    /// Panning the canvas.
    Pan {
        /// Where the pointer went down.
        start: (f64, f64),
        /// The viewport at the start.
        orig: Viewport,
    },
}

/// Diagnostics and spec of the current document.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The compiled spec, when there are no errors.
    pub spec: Option<PipelineSpec>,
    /// Every problem.
    pub diagnostics: Vec<Diagnostic>,
    /// Node and group id → task path in the spec (see `pipeline::Compiled::task_paths`).
    pub task_paths: pipeline::map::Map<String>,
}

impl Analysis {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// Everything the components share. Copy: all fields are reactive handles.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The document being edited.
    pub doc: RwSignal<Document>,
    /// Compile result, recomputed when anything but positions changes.
    pub analysis: Memo<Analysis>,
    /// Palette components.
    pub catalog: RwSignal<Vec<CatalogEntry>>,
    /// Whether the catalog request has finished (successfully or not).
    pub catalog_loaded: RwSignal<bool>,
    /// Example pipelines.
    pub examples: RwSignal<Vec<ExampleInfo>>,
    /// Saved pipelines (refreshed when the Open menu opens).
    pub saved: RwSignal<Vec<api::SavedPipeline>>,
    /// The selection.
    pub selection: RwSignal<Selection>,
    /// The right panel's tab.
    pub tab: RwSignal<Tab>,
    /// JSON or YAML in the spec panel.
    pub spec_format: RwSignal<OutputFormat>,
    /// The status-bar message.
    pub status: RwSignal<Option<Status>>,
    /// The server id of the document, once saved or opened.
    pub saved_id: RwSignal<Option<String>>,
    /// Unsaved changes.
    pub dirty: RwSignal<bool>,
    /// Pointer interaction in progress.
    pub drag: RwSignal<Option<Drag>>,
    /// Pan and zoom.
    pub viewport: RwSignal<Viewport>,
    /// Documents before each edit, newest last.
    pub undo: RwSignal<Vec<Document>>,
    /// Documents undone, newest last.
    pub redo: RwSignal<Vec<Document>>,
    /// The canvas element, for converting pointer positions.
    pub canvas: NodeRef<Div>,
}

impl AppState {
    /// Fresh state with an empty pipeline.
    pub fn new() -> Self {
        let doc = RwSignal::new(Document::new("my-pipeline"));
        // Positions do not change the spec: strip them so dragging does not recompile.
        let shape = Memo::new(move |_| {
            doc.with(|d| {
                let mut d = d.clone();
                d.nodes
                    .iter_mut()
                    .for_each(|n| n.position = Point::default());
                d.groups
                    .iter_mut()
                    .for_each(|g| g.position = Point::default());
                d
            })
        });
        // Recomputed only when `shape` changed, so always treat the result as new: comparing
        // whole specs would cost time and wasm size for nothing.
        let analysis = Memo::new_with_compare(
            move |_| {
                shape.with(|d| {
                    let c = pipeline::compile(d);
                    Analysis {
                        spec: c.spec,
                        diagnostics: c.diagnostics,
                        task_paths: c.task_paths,
                    }
                })
            },
            |_, _| true,
        );
        Self {
            doc,
            analysis,
            catalog: RwSignal::new(Vec::new()),
            catalog_loaded: RwSignal::new(false),
            examples: RwSignal::new(Vec::new()),
            saved: RwSignal::new(Vec::new()),
            selection: RwSignal::new(Selection::None),
            tab: RwSignal::new(Tab::Properties),
            spec_format: RwSignal::new(OutputFormat::Json),
            status: RwSignal::new(None),
            saved_id: RwSignal::new(None),
            dirty: RwSignal::new(false),
            drag: RwSignal::new(None),
            viewport: RwSignal::new(Viewport::default()),
            undo: RwSignal::new(Vec::new()),
            redo: RwSignal::new(Vec::new()),
            canvas: NodeRef::new(),
        }
    }

    /// Applies an edit, recording the document before it for Undo.
    pub fn edit(&self, f: impl FnOnce(&mut Document)) {
        let before = self.doc.get_untracked();
        let mut after = before.clone();
        f(&mut after);
        if after != before {
            self.record(before);
            self.doc.set(after);
        }
    }

    /// Shows `doc` instead of the current document as one undoable edit (opening a file must
    /// not lose unsaved work); it is not tied to a saved pipeline.
    pub fn replace_document(&self, doc: Document) {
        self.edit(|d| *d = doc);
        self.saved_id.set(None);
        self.selection.set(Selection::None);
        self.drag.set(None);
        crate::canvas::fit_view(self);
    }

    /// Records `before` as the state Undo returns to (for edits made step by step, like drags).
    pub fn record(&self, before: Document) {
        self.undo.update(|u| {
            u.push(before);
            if u.len() > HISTORY_LIMIT {
                u.remove(0);
            }
        });
        self.redo.update(Vec::clear);
        self.dirty.set(true);
    }

    /// Takes back the last edit.
    pub fn undo(&self) {
        if let Some(prev) = self.undo.try_update(Vec::pop).flatten() {
            let cur = self.doc.get_untracked();
            self.redo.update(|r| r.push(cur));
            self.doc.set(prev);
            self.dirty.set(true);
            self.drop_stale_selection();
            self.info("Undid the last change");
        }
    }

    /// Re-applies the last undone edit.
    pub fn redo(&self) {
        if let Some(next) = self.redo.try_update(Vec::pop).flatten() {
            let cur = self.doc.get_untracked();
            self.undo.update(|u| u.push(cur));
            self.doc.set(next);
            self.dirty.set(true);
            self.drop_stale_selection();
            self.info("Redid the change");
        }
    }

    /// Clears the selection when it points at something no longer there.
    fn drop_stale_selection(&self) {
        let gone = self
            .doc
            .with_untracked(|d| match &self.selection.get_untracked() {
                Selection::None => false,
                Selection::Node(id) => d.node(id).is_none(),
                Selection::Wire(id) => !d.wires.iter().any(|w| &w.id == id),
                Selection::Group(id) => d.group(id).is_none(),
            });
        if gone {
            self.selection.set(Selection::None);
        }
    }

    /// Replaces the document (New, Open, Examples, Upload): clears selection and history.
    pub fn load(&self, doc: Document, saved_id: Option<String>) {
        self.doc.set(doc);
        self.saved_id.set(saved_id);
        self.selection.set(Selection::None);
        self.undo.set(Vec::new());
        self.redo.set(Vec::new());
        self.dirty.set(false);
        self.drag.set(None);
        crate::canvas::fit_view(self);
    }

    /// Shows a message in the status bar.
    pub fn say(&self, kind: StatusKind, text: impl Into<String>) {
        let seq = self
            .status
            .with_untracked(|s| s.as_ref().map_or(1, |s| s.seq + 1));
        self.status.set(Some(Status {
            kind,
            text: text.into(),
            seq,
        }));
    }

    /// Shows an information message.
    pub fn info(&self, text: impl Into<String>) {
        self.say(StatusKind::Info, text);
    }

    /// Shows a success message.
    pub fn success(&self, text: impl Into<String>) {
        self.say(StatusKind::Success, text);
    }

    /// Shows an error message.
    pub fn error(&self, text: impl Into<String>) {
        self.say(StatusKind::Error, text);
    }

    /// Selects something; nodes and groups bring up the Properties tab.
    pub fn select(&self, sel: Selection) {
        if matches!(sel, Selection::Node(_) | Selection::Group(_)) {
            self.tab.set(Tab::Properties);
        }
        if self.selection.get_untracked() != sel {
            self.selection.set(sel);
        }
    }

    /// Deletes the selected node, wire or group.
    pub fn delete_selection(&self) {
        let sel = self.selection.get_untracked();
        let what = match &sel {
            Selection::None => return,
            Selection::Node(id) => {
                let name = self
                    .doc
                    .with_untracked(|d| d.node(id).map(|n| n.name.clone()))
                    .unwrap_or_else(|| id.clone());
                self.edit(|d| d.remove_node(id));
                format!("Deleted task {name}")
            }
            Selection::Wire(id) => {
                self.edit(|d| d.wires.retain(|w| &w.id != id));
                "Deleted wire".to_string()
            }
            Selection::Group(id) => {
                self.edit(|d| d.remove_group(id));
                "Deleted condition (its tasks stay)".to_string()
            }
        };
        self.selection.set(Selection::None);
        self.info(what);
    }

    /// The catalog category of a component key, for colouring nodes.
    pub fn category_of(&self, component_key: &str) -> Option<String> {
        self.catalog.with_untracked(|c| {
            c.iter()
                .find(|e| e.id == component_key)
                .map(|e| e.category.clone())
        })
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

/// The shared state (provided by the app root).
pub fn use_state() -> AppState {
    expect_context::<AppState>()
}

/// A colour for a palette category, stable across runs.
pub fn category_color(category: &str) -> &'static str {
    const PALETTE: [&str; 8] = [
        "#4f8cff", "#2fb67c", "#e0a526", "#c66ae8", "#ef6b5b", "#2cb9c9", "#8d9bb5", "#e57bb0",
    ];
    match category {
        "Build" => PALETTE[2],
        "Training" | "Train" => PALETTE[0],
        "Evaluation" => PALETTE[5],
        "Deployment" | "Deploy" | "Serving" => PALETTE[1],
        "Model" | "Models" => PALETTE[3],
        "Data" => PALETTE[6],
        "Control flow" => PALETTE[4],
        "" => "#6b7385",
        other => {
            let h = other.bytes().fold(5381u32, |h, b| {
                h.wrapping_mul(33).wrapping_add(u32::from(b))
            });
            PALETTE[(h % PALETTE.len() as u32) as usize]
        }
    }
}

/// A reactive string for an attribute, style, property or text node. Type-erased, so every use
/// shares one copy of the rendering code (keeps the wasm small).
pub fn text(f: impl Fn() -> String + Send + Sync + 'static) -> Signal<String> {
    Signal::derive(f)
}

/// A reactive flag for a class toggle or boolean attribute, type-erased like [`text`].
pub fn flag(f: impl Fn() -> bool + Send + Sync + 'static) -> Signal<bool> {
    Signal::derive(f)
}
