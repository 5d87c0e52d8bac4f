//! The semantic model of a document: what it means once its references are resolved. An index
//! of nodes and groups, the scopes (which group encloses which, their KFP task names, the item
//! of each loop), where each node input gets its value, the conditions, and the dependencies
//! lifted into the DAGs where KFP writes them.
//!
//! [`analyze`] builds it in passes, resolution passes here ([`scopes`], [`inputs`], [`groups`])
//! and the checks of [`crate::validate`] in between, so every problem comes out once, in the
//! order a reader meets it. The compiler, the layout and the importer build on the [`Model`];
//! [`crate::validate`] is the diagnostics alone.

mod groups;
mod inputs;
mod scopes;

use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;

use serde_json::Value;

use crate::condition::Expr;
use crate::diagnostic::Diagnostic;
use crate::document::{Document, GroupKind, LoopItems, PortType, MAX_NESTING};
use crate::ir::ParameterType;
use crate::map::Map;
use crate::validate;

pub(crate) use inputs::{collected_from, crossed_loop, one_of_group};

/// A task of a DAG: a node or a group, by index into `doc.nodes` / `doc.groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Elem {
    /// `doc.nodes[i]`.
    Node(usize),
    /// `doc.groups[i]`.
    Group(usize),
}

/// A DAG: the pipeline's own (`None`) or a group's.
pub(crate) type Scope = Option<usize>;

/// Where a node input gets its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// A constant.
    Value(Value),
    /// A pipeline input (parameter or artifact).
    Param(String),
    /// An output of another node.
    Output(usize, String),
    /// Whichever of several outputs ran (several wires into one input, from the branches of one
    /// if/elif/else).
    OneOf(Vec<(usize, String)>),
    /// The item of an enclosing loop group (or a field of it).
    LoopItem(usize, Option<String>),
    /// The final status of an exit-handler group.
    FinalStatus(usize),
}

/// What a document means: its index, its scopes, where each input comes from and what depends
/// on what. Validation, the compiler, the layout and the importer all read it.
pub(crate) struct Model<'a> {
    pub doc: &'a Document,
    /// Node index by id.
    pub node_by_id: HashMap<&'a str, usize>,
    /// Node index by task name.
    pub node_by_name: HashMap<&'a str, usize>,
    /// Group index by id.
    pub group_by_id: HashMap<&'a str, usize>,
    /// The enclosing group of each group (cycles broken, at most [`MAX_NESTING`] deep).
    pub parent: Vec<Scope>,
    /// The groups directly inside each group, in document order.
    pub children: Vec<Vec<usize>>,
    /// The group holding each node.
    pub node_scope: Vec<Scope>,
    /// Task name of each group (`condition-1`, `for-loop-2`, …).
    pub group_task: Vec<String>,
    /// Groups in pre-order (parents before children, document order among siblings).
    pub group_order: Vec<usize>,
    /// Per node: input name → source.
    pub sources: Vec<Map<Source>>,
    /// Per node: tasks it must run after, beyond data.
    pub after: Vec<Vec<Elem>>,
    /// The own expression of each condition group (branches: without earlier branches).
    pub conditions: HashMap<usize, Expr>,
    /// Each loop's item input name and the item's type (a parameter, or one artifact of a list).
    pub loop_items: HashMap<usize, (String, PortType)>,
    /// Producer (node, port) of each loop's items, when they come from a task.
    pub loop_sources: HashMap<usize, (usize, String)>,
    /// The enclosing loop (and field of its item) of each loop over an outer loop's item.
    pub loop_item_sources: HashMap<usize, (usize, Option<String>)>,
    /// Exit node index of each exit-handler group.
    pub exit_nodes: HashMap<usize, usize>,
    /// Sources of each pipeline output: single (node, port) or several (one-of).
    pub outputs: Vec<Vec<(usize, String)>>,
    /// Dependency edges lifted into the DAG where they apply (producer → consumer).
    pub edges: BTreeSet<(Elem, Elem)>,
}

impl Model<'_> {
    /// The DAG an element sits in.
    pub fn container(&self, e: Elem) -> Scope {
        match e {
            Elem::Node(n) => self.node_scope[n],
            Elem::Group(g) => self.parent[g],
        }
    }

    /// `[scope, parent, grandparent, …]`, without the pipeline's own DAG: at most
    /// [`MAX_NESTING`] groups, as the validator breaks cycles and cuts deeper nesting.
    pub fn chain(&self, scope: Scope) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = scope;
        while let Some(g) = cur.filter(|_| out.len() < MAX_NESTING) {
            out.push(g);
            cur = self.parent[g];
        }
        out
    }

    /// Whether `outer` is `inner` or one of its enclosing DAGs.
    pub fn encloses(&self, outer: Scope, inner: Scope) -> bool {
        match outer {
            None => true,
            Some(o) => self.chain(inner).contains(&o),
        }
    }

    /// The innermost DAG enclosing both.
    pub fn lca(&self, a: Scope, b: Scope) -> Scope {
        let cb = self.chain(b);
        self.chain(a).into_iter().find(|g| cb.contains(g))
    }

    /// The task of DAG `scope` that is or contains `e`; `None` if `e` is not inside `scope`.
    pub fn rep(&self, e: Elem, scope: Scope) -> Option<Elem> {
        let mut cur = e;
        loop {
            let c = self.container(cur);
            if c == scope {
                return Some(cur);
            }
            cur = Elem::Group(c?);
        }
    }

    /// The dependency of `c` on `p`, lifted into the innermost DAG holding both (how KFP writes
    /// `dependentTasks`); `None` when one encloses the other.
    pub fn lifted_edge(&self, p: Elem, c: Elem) -> Option<(Elem, Elem)> {
        let lca = self.lca(self.container(p), self.container(c));
        let (a, b) = (self.rep(p, lca)?, self.rep(c, lca)?);
        (a != b || p == c).then_some((a, b))
    }

    /// The task name of an element.
    pub fn task_name(&self, e: Elem) -> &str {
        match e {
            Elem::Node(n) => &self.doc.nodes[n].name,
            Elem::Group(g) => &self.group_task[g],
        }
    }

    /// The type of a loop's item, or of a field of it: a field of raw items has the type its
    /// values share; a field of items from a parameter or task output is a string, as in KFP.
    pub fn loop_operand_type(&self, g: usize, field: Option<&str>) -> Option<PortType> {
        let (_, item) = self.loop_items.get(&g)?;
        let Some(field) = field else {
            return Some(item.clone());
        };
        Some(PortType::Parameter(match &self.doc.groups[g].kind {
            GroupKind::Loop {
                items: LoopItems::Raw(text),
                ..
            } => scopes::raw_field_type(text, field),
            _ => ParameterType::String,
        }))
    }

    /// The type of a node's output port.
    pub fn output_type(&self, n: usize, port: &str) -> Option<PortType> {
        self.doc.component_of(&self.doc.nodes[n])?.output_port(port)
    }
}

impl<'a> Model<'a> {
    /// The model of `doc` with its scopes resolved and its nodes indexed, before any input,
    /// condition or dependency is resolved.
    fn new(doc: &'a Document, scopes: scopes::Scopes<'a>) -> Self {
        let scopes::Scopes {
            group_by_id,
            parent,
            children,
            group_order,
            group_task,
            loop_items,
        } = scopes;
        // A later node with the same id or name wins (validation reports the clash).
        let mut node_by_id = HashMap::default();
        let mut node_by_name = HashMap::default();
        for (i, n) in doc.nodes.iter().enumerate() {
            node_by_id.insert(n.id.as_str(), i);
            node_by_name.insert(n.name.as_str(), i);
        }
        let node_scope = doc
            .nodes
            .iter()
            .map(|n| n.group.as_deref().and_then(|g| group_by_id.get(g).copied()))
            .collect();
        Model {
            doc,
            node_by_id,
            node_by_name,
            group_by_id,
            parent,
            children,
            node_scope,
            group_task,
            group_order,
            sources: vec![Map::new(); doc.nodes.len()],
            after: vec![Vec::new(); doc.nodes.len()],
            conditions: HashMap::default(),
            loop_items,
            loop_sources: HashMap::default(),
            loop_item_sources: HashMap::default(),
            exit_nodes: HashMap::default(),
            outputs: Vec::new(),
            edges: BTreeSet::new(),
        }
    }
}

/// Analyses `doc`: its model and every diagnostic.
pub(crate) fn analyze(doc: &Document) -> (Model<'_>, Vec<Diagnostic>) {
    analyze_at(doc, 0)
}

/// [`analyze`] for a document `level` sub-pipelines deep (0: the pipeline itself, 1: one of its
/// sub-pipelines, …).
pub(crate) fn analyze_at(doc: &Document, level: usize) -> (Model<'_>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    validate::check_header(doc, &mut diags);
    validate::check_inputs(doc, level, &mut diags);
    validate::check_components(doc, level, &mut diags);
    let scopes = scopes::Scopes::resolve(doc, &mut diags);
    validate::check_names(doc, &scopes.group_by_id, &scopes.group_task, &mut diags);
    validate::check_component_names(doc, &mut diags);

    let mut model = Model::new(doc, scopes);
    inputs::resolve_bindings(&mut model, &mut diags);
    inputs::resolve_wires(&mut model, &mut diags);
    validate::check_required(&model, &mut diags);
    inputs::resolve_after(&mut model, &mut diags);
    groups::resolve_groups(&mut model, &mut diags);
    validate::check_trigger_depth(&model, &mut diags);
    inputs::resolve_outputs(&mut model, &mut diags);
    model.edges = inputs::dependency_edges(&model);
    validate::check_cycles(&model, &mut diags);
    (model, diags)
}
