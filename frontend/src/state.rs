//! The application state shared by every component (through Leptos context).

use std::sync::Arc;
use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;
use pipeline::ir::PipelineSpec;
use pipeline::{ComponentDef, Diagnostic, Document, OutputFormat, Point, PortRef, PortType, Size};
use serde::Deserialize;

use crate::edit::Item;
use crate::scene::{self, Scene};

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
    /// Two or more nodes and frames, sorted.
    Many(Arc<Vec<Item>>),
}

impl Selection {
    /// The selection of `items`: nothing, one node or frame, or many.
    pub fn of(mut items: Vec<Item>) -> Self {
        items.sort();
        items.dedup();
        if items.len() > 1 {
            return Selection::Many(Arc::new(items));
        }
        match items.pop() {
            Some(Item::Node(id)) => Selection::Node(id),
            Some(Item::Group(id)) => Selection::Group(id),
            None => Selection::None,
        }
    }

    /// The nodes and frames selected (a wire is neither), sorted.
    pub fn items(&self) -> Vec<Item> {
        match self {
            Selection::Node(id) => vec![Item::Node(id.clone())],
            Selection::Group(id) => vec![Item::Group(id.clone())],
            Selection::Many(items) => (**items).clone(),
            Selection::None | Selection::Wire(_) => Vec::new(),
        }
    }

    /// Whether `item` is selected.
    pub fn has(&self, item: &Item) -> bool {
        match (self, item) {
            (Selection::Node(a), Item::Node(b)) | (Selection::Group(a), Item::Group(b)) => a == b,
            (Selection::Many(items), _) => items.binary_search(item).is_ok(),
            _ => false,
        }
    }
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
    /// Moving nodes and frames together. Only their position signals follow the pointer; the
    /// document changes once, when the pointer is released.
    Move {
        /// The items grabbed (regrouped on drop).
        grabbed: Vec<Item>,
        /// Where the pointer went down.
        start: (f64, f64),
        /// Positions at the start.
        orig: Vec<(Item, Point)>,
        /// The offset applied now, in canvas units.
        delta: (f64, f64),
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
        /// The size now.
        size: Size,
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
    /// Selecting what a rectangle touches (Shift + drag on the canvas).
    Band {
        /// Where the pointer went down, in canvas coordinates.
        start: Point,
        /// The pointer, in canvas coordinates.
        cursor: Point,
        /// The selection before, kept (the band adds to it).
        base: Vec<Item>,
    },
}

/// The compiled spec: its JSON text, written by the compile worker
/// (`crate::compile_worker`), or the IR when the main thread compiled it (the Spec tab writes
/// its JSON then, so the start module holds no JSON writer).
#[derive(Debug, Clone)]
pub enum SpecText {
    /// The spec as JSON, as the Spec tab shows it.
    Json(Arc<str>),
    /// The spec.
    Ir(Arc<PipelineSpec>),
}

/// Diagnostics and spec of the current document.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The compiled spec, when there are no errors.
    pub spec: Option<SpecText>,
    /// Every problem.
    pub diagnostics: Vec<Diagnostic>,
    /// Node and group id → task path in the spec (see `pipeline::Compiled::task_paths`).
    pub task_paths: pipeline::map::Map<String>,
    /// Counts the compiles.
    pub rev: u64,
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

/// A state Undo and Redo return to: the document and the saved pipeline it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The document.
    pub doc: Document,
    /// Its saved pipeline's id, if any.
    pub saved_id: Option<String>,
}

/// When the document is compiled next.
#[derive(Default)]
struct CompileTimer {
    /// The compile scheduled, if any.
    pending: Option<TimeoutHandle>,
    /// How long the last compile took, in ms (with the compile worker: until its answer).
    last_ms: f64,
    /// The latest compile asked (the revision its analysis will have): older answers of the
    /// compile worker are dropped.
    asked: u64,
}

/// Compiles that took longer than this (ms) wait until edits pause for [`COMPILE_PAUSE`], so
/// typing into a large pipeline is not slowed down by compiling it after every key.
const SLOW_COMPILE_MS: f64 = 8.0;
/// How long edits must pause before a slow compile runs.
const COMPILE_PAUSE: Duration = Duration::from_millis(250);

/// Milliseconds from the page's high-resolution clock.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// Where the lineage view starts.
#[derive(Clone, Debug, PartialEq)]
pub enum LineageFrom {
    /// A run's executions.
    Run(String),
    /// The artifact at this URI.
    Uri(String),
    /// The execution of a task of a run (run id, task path): say, a deploy task, to follow
    /// its endpoint back to the model and the training data.
    Task(String, String),
    /// A node of the graph shown (re-centred on).
    Node(crate::lineage_graph::NodeKey),
}

/// Everything the components share. Copy: all fields are reactive handles.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The document being edited. Change it through [`AppState::edit`] and friends, which keep
    /// the canvas ([`AppState::scene`]), the compile and Undo in step.
    pub doc: RwSignal<Document>,
    /// The canvas's per-element signals of `doc`.
    pub scene: Scene,
    /// Compile result of `doc`, renewed after edits that change what compiles (see
    /// [`AppState::schedule_compile`]).
    pub analysis: RwSignal<Analysis>,
    compile_timer: StoredValue<CompileTimer>,
    /// Whether a compile waits for edits to pause (large pipelines).
    pub compiling: RwSignal<bool>,
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
    /// Whether moves snap to the grid.
    pub snap: RwSignal<bool>,
    /// Whether the minimap is shown (off at start: it is a chunk fetched when first shown).
    pub minimap: RwSignal<bool>,
    /// Frames drawn collapsed (their title bar only), by id, sorted. A view setting, not part of
    /// the document.
    pub collapsed: RwSignal<Vec<String>>,
    /// The context menu, open at this client point.
    pub menu: RwSignal<Option<(f64, f64)>>,
    /// Whether the keyboard shortcut overlay is open.
    pub overlay: RwSignal<bool>,
    /// The lineage view, open at this start (the `lineage` chunk).
    pub lineage: RwSignal<Option<LineageFrom>>,
    /// Whether the runs picked in the Runs tab are being compared (over the editor).
    pub comparing: RwSignal<bool>,
    /// Whether the component editor is open (over the editor; the `authoring` chunk).
    pub authoring: RwSignal<bool>,
    /// A comment just added, to be opened for writing when it is drawn.
    pub comment_edit: RwSignal<Option<String>>,
    /// The canvas element's box in client pixels (left, top, width, height; width 0 until
    /// measured), kept current on resize so pointer moves need no layout read.
    pub canvas_box: RwSignal<(f64, f64, f64, f64)>,
    /// States before each edit, newest last.
    pub undo: RwSignal<Vec<Snapshot>>,
    /// States undone, newest last.
    pub redo: RwSignal<Vec<Snapshot>>,
    /// The field the last edit typed into: further typing there joins that edit in Undo.
    typing_in: StoredValue<Option<String>>,
    /// The canvas element, for converting pointer positions.
    pub canvas: NodeRef<Div>,
}

impl AppState {
    /// Fresh state with an empty pipeline.
    pub fn new() -> Self {
        let st = Self {
            doc: RwSignal::new(Document::new("my-pipeline")),
            scene: Scene::new(),
            analysis: RwSignal::new(Analysis::default()),
            compile_timer: StoredValue::new(CompileTimer::default()),
            compiling: RwSignal::new(false),
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
            snap: RwSignal::new(false),
            minimap: RwSignal::new(false),
            collapsed: RwSignal::new(Vec::new()),
            menu: RwSignal::new(None),
            overlay: RwSignal::new(false),
            lineage: RwSignal::new(None),
            comparing: RwSignal::new(false),
            authoring: RwSignal::new(false),
            comment_edit: RwSignal::new(None),
            canvas_box: RwSignal::new((0.0, 0.0, 0.0, 0.0)),
            undo: RwSignal::new(Vec::new()),
            redo: RwSignal::new(Vec::new()),
            typing_in: StoredValue::new(None),
            canvas: NodeRef::new(),
        };
        // The empty document compiles at once here; the worker loads meanwhile.
        st.compile_here(st.next_rev());
        crate::compile_worker::start(st);
        st
    }

    /// The revision of a new compile (see [`Analysis::rev`]).
    fn next_rev(&self) -> u64 {
        self.compile_timer
            .try_update_value(|t| {
                t.asked = t.asked.wrapping_add(1);
                t.asked
            })
            .unwrap_or_default()
    }

    /// Compiles the document now (the problems list, the spec and the canvas's error marks
    /// follow): in the compile worker (`crate::compile_worker`), whose answer comes in a
    /// moment, or here on the main thread when there is no worker.
    pub fn compile_now(&self) {
        if let Some(h) = self
            .compile_timer
            .try_update_value(|t| t.pending.take())
            .flatten()
        {
            h.clear();
        }
        let rev = self.next_rev();
        if !crate::compile_worker::request(*self, rev) {
            self.compile_here(rev);
            return;
        }
        // Until the worker answers, the problems list and the spec are the previous document's:
        // say so (`compiled` clears it; the problems list's `data-pending`).
        if self.compiling.try_get_untracked() == Some(false) {
            self.compiling.try_set(true);
        }
    }

    /// Compiles the document on the main thread, as revision `rev`.
    fn compile_here(&self, rev: u64) {
        let start = now_ms();
        let Some(analysis) = self.doc.try_with_untracked(|d| {
            let c = pipeline::compile(d);
            Analysis {
                spec: c.spec.map(|s| SpecText::Ir(Arc::new(s))),
                diagnostics: c.diagnostics,
                task_paths: c.task_paths,
                rev,
            }
        }) else {
            return;
        };
        self.compile_took(now_ms() - start);
        self.compiled(analysis);
    }

    /// Records how long a compile took, in ms (see [`AppState::schedule_compile`]).
    pub fn compile_took(&self, ms: f64) {
        self.compile_timer.try_update_value(|t| t.last_ms = ms);
    }

    /// Shows a compile's result (the problems list, the spec and the canvas's error marks),
    /// unless a newer compile has been asked since (its result will come).
    pub fn compiled(&self, analysis: Analysis) {
        let latest = self.compile_timer.try_with_value(|t| t.asked);
        if latest != Some(analysis.rev) {
            return;
        }
        self.scene.set_diagnostics(&analysis.diagnostics);
        self.analysis.try_set(analysis);
        // (A compile waiting for edits to pause keeps the indicator.)
        let waits = self
            .compile_timer
            .try_with_value(|t| t.pending.is_some())
            .unwrap_or(false);
        if !waits && self.compiling.try_get_untracked() == Some(true) {
            self.compiling.try_set(false);
        }
    }

    /// Compiles the document soon: right after this event, or — when the edit is typing (or
    /// nudging) and compiling is slow — once the edits pause for a moment, so typing stays
    /// fluid in large pipelines.
    pub fn schedule_compile(&self, typing: bool) {
        let st = *self;
        let (old, slow) = self
            .compile_timer
            .try_update_value(|t| (t.pending.take(), typing && t.last_ms > SLOW_COMPILE_MS))
            .unwrap_or_default();
        if let Some(h) = old {
            h.clear();
        }
        let wait = if slow { COMPILE_PAUSE } else { Duration::ZERO };
        if slow && !self.compiling.get_untracked() {
            self.compiling.set(true);
        }
        match set_timeout_with_handle(move || st.compile_now(), wait) {
            Ok(h) => self.compile_timer.update_value(|t| t.pending = Some(h)),
            Err(_) => self.compile_now(),
        }
    }

    /// After `doc` changed: the canvas follows at once, the compile when scheduled (see
    /// [`AppState::schedule_compile`]).
    fn changed(&self, shape_changed: bool, typing: bool) {
        self.doc.with_untracked(|d| self.scene.sync(d));
        if shape_changed {
            self.schedule_compile(typing);
        }
    }

    /// Applies an edit, recording the state before it for Undo.
    pub fn edit(&self, f: impl FnOnce(&mut Document)) {
        self.typing_in.set_value(None);
        self.apply(f, false);
    }

    /// Applies `f` as one undoable edit (`typing`: see [`AppState::schedule_compile`]);
    /// whether it changed anything.
    fn apply(&self, f: impl FnOnce(&mut Document), typing: bool) -> bool {
        let before = self.doc.get_untracked();
        // Whether the edit changed what compiles, and whether it changed anything (compared
        // again only when not: each comparison walks the whole document).
        let (changed, shape_changed) = self
            .doc
            .try_update_untracked(|d| {
                f(d);
                let shape_changed = !scene::same_shape(d, &before);
                (shape_changed || *d != before, shape_changed)
            })
            .unwrap_or((false, false));
        if changed {
            self.record(before);
            self.doc.notify();
            self.changed(shape_changed, typing);
        }
        changed
    }

    /// An edit typed into the field `field` (e.g. `n3/x`): consecutive edits of one field
    /// are one step in Undo, and only the first copies the document.
    pub fn edit_typing(&self, field: &str, f: impl FnOnce(&mut Document)) {
        let continues = self.typing_in.with_value(|t| t.as_deref() == Some(field))
            && self.undo.with_untracked(|u| !u.is_empty());
        if continues {
            self.doc.update_untracked(f);
            self.doc.notify();
            self.redo.update(Vec::clear);
            self.dirty.set(true);
            self.changed(true, true);
        } else if self.apply(f, true) {
            self.typing_in.set_value(Some(field.to_string()));
        }
    }

    /// Shows `doc` instead of the current document as one undoable edit (opening a file must
    /// not lose unsaved work); it is not tied to a saved pipeline.
    pub fn replace_document(&self, doc: Document) {
        self.switch_to(doc, None, true);
    }

    /// Shows `doc` (of saved pipeline `saved_id`, if any) instead of the current document:
    /// one step in Undo, so New, Open and Examples never lose work. `dirty`: whether `doc`
    /// differs from what is saved under `saved_id`.
    pub fn switch_to(&self, doc: Document, saved_id: Option<String>, dirty: bool) {
        self.typing_in.set_value(None);
        let before = self.doc.get_untracked();
        let shape_changed = !scene::same_shape(&doc, &before);
        let pristine = before.nodes.is_empty()
            && before.groups.is_empty()
            && self.undo.with_untracked(Vec::is_empty)
            && !self.dirty.get_untracked();
        if !pristine {
            self.record(before);
        }
        self.doc.set(doc);
        self.saved_id.set(saved_id);
        self.dirty.set(dirty);
        self.selection.set(Selection::None);
        self.drag.set(None);
        self.changed(shape_changed, false);
        crate::canvas::open_view(self);
    }

    /// Records `before` (with the current saved id) as the state Undo returns to.
    pub fn record(&self, before: Document) {
        let saved_id = self.saved_id.get_untracked();
        self.undo.update(|u| {
            u.push(Snapshot {
                doc: before,
                saved_id,
            });
            if u.len() > HISTORY_LIMIT {
                u.remove(0);
            }
        });
        self.redo.update(Vec::clear);
        self.dirty.set(true);
    }

    /// Shows `snap` (from Undo or Redo), pushing the current state onto `other`.
    fn restore(&self, snap: Snapshot, other: RwSignal<Vec<Snapshot>>) {
        self.typing_in.set_value(None);
        let cur = Snapshot {
            doc: self.doc.get_untracked(),
            saved_id: self.saved_id.get_untracked(),
        };
        let shape_changed = !scene::same_shape(&cur.doc, &snap.doc);
        let switched = cur.saved_id != snap.saved_id;
        other.update(|r| r.push(cur));
        self.doc.set(snap.doc);
        if switched {
            crate::actions::show_saved_id(snap.saved_id.as_deref());
            self.saved_id.set(snap.saved_id);
        }
        self.dirty.set(true);
        self.changed(shape_changed, false);
        self.drop_stale_selection();
    }

    /// Takes back the last edit.
    pub fn undo(&self) {
        if let Some(prev) = self.undo.try_update(Vec::pop).flatten() {
            self.restore(prev, self.redo);
            self.info("Undid the last change");
        }
    }

    /// Re-applies the last undone edit.
    pub fn redo(&self) {
        if let Some(next) = self.redo.try_update(Vec::pop).flatten() {
            self.restore(next, self.undo);
            self.info("Redid the change");
        }
    }

    /// Drops from the selection what is no longer there.
    fn drop_stale_selection(&self) {
        let sel = self.selection.get_untracked();
        let kept = self.doc.with_untracked(|d| match &sel {
            Selection::None => Selection::None,
            Selection::Wire(id) if d.wires.iter().any(|w| &w.id == id) => sel.clone(),
            Selection::Wire(_) => Selection::None,
            _ => Selection::of(
                sel.items()
                    .into_iter()
                    .filter(|i| match i {
                        Item::Node(id) => d.node(id).is_some(),
                        Item::Group(id) => d.group(id).is_some(),
                    })
                    .collect(),
            ),
        });
        if kept != sel {
            self.selection.set(kept);
        }
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

    /// Selects something; one node or group brings up the Properties tab.
    pub fn select(&self, sel: Selection) {
        if matches!(
            sel,
            Selection::Node(_) | Selection::Group(_) | Selection::Many(_)
        ) {
            self.tab.set(Tab::Properties);
        }
        if self.selection.get_untracked() != sel {
            // Typing or nudging continues one Undo step only while the selection stays.
            self.typing_in.set_value(None);
            self.selection.set(sel);
        }
    }

    /// Adds `item` to the selection, or takes it out when it is in (Shift/Ctrl + click).
    pub fn toggle_selected(&self, item: Item) {
        let mut items = self.selection.get_untracked().items();
        match items.binary_search(&item) {
            Ok(i) => {
                items.remove(i);
            }
            Err(i) => items.insert(i, item),
        }
        self.select(Selection::of(items));
    }

    /// Deletes the selected nodes, frames or wire.
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
                "Deleted frame (its tasks stay)".to_string()
            }
            Selection::Many(items) => {
                let n = items.len();
                self.edit(|d| crate::edit::remove_items(d, items));
                format!("Deleted {n} items")
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
