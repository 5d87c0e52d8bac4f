//! The lineage view's graph: the answers of `GET /api/lineage` merged as the user expands
//! nodes, laid out in layers (what was read on the left, what was made on the right), with the
//! path between two nodes, search and a type filter. Pure logic, tested natively.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use ::api::{Lineage, LineageArtifact, LineageEventType, LineageExecution, TaskState};
use rustc_hash::FxHashMap;

/// A node: an artifact or an execution, by its id in the run store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKey {
    /// An artifact.
    Artifact(i64),
    /// An execution (one task of one run).
    Execution(i64),
}

impl NodeKey {
    /// The key as it is written in the page (`a12`, `e7`).
    pub fn token(self) -> String {
        match self {
            NodeKey::Artifact(id) => format!("a{id}"),
            NodeKey::Execution(id) => format!("e{id}"),
        }
    }

    /// Reads [`NodeKey::token`] back.
    pub fn parse(token: &str) -> Option<Self> {
        let (kind, id) = token.split_at_checked(1)?;
        let id = id.parse().ok()?;
        match kind {
            "a" => Some(NodeKey::Artifact(id)),
            "e" => Some(NodeKey::Execution(id)),
            _ => None,
        }
    }
}

/// Node width in the layout, in SVG units.
pub const NODE_W: f64 = 190.0;
/// Node height.
pub const NODE_H: f64 = 46.0;
/// Horizontal distance between layers.
const LAYER_GAP: f64 = 250.0;
/// Vertical distance between nodes of a layer.
const ROW_GAP: f64 = 62.0;

/// The graph shown: every artifact, execution and edge the queries returned so far.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Artifacts by id.
    pub artifacts: BTreeMap<i64, LineageArtifact>,
    /// Executions by id.
    pub executions: BTreeMap<i64, LineageExecution>,
    /// Edges `(from, to)`: artifact → execution that read it, execution → artifact it wrote;
    /// the port name is the value.
    edges: BTreeMap<(NodeKey, NodeKey), String>,
    /// Whether an answer was cut by its node cap (more is reachable).
    pub truncated: bool,
}

/// Where each shown node is drawn (its top-left corner), and the drawing's size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    /// Top-left corners.
    pub pos: FxHashMap<NodeKey, (f64, f64)>,
    /// Width of the drawing.
    pub width: f64,
    /// Height of the drawing.
    pub height: f64,
}

impl Graph {
    /// Adds what one query returned (nodes already known are kept as they are).
    pub fn merge(&mut self, answer: Lineage) {
        for a in answer.artifacts {
            self.artifacts.entry(a.id).or_insert(a);
        }
        for e in answer.executions {
            self.executions.entry(e.id).or_insert(e);
        }
        for ev in answer.events {
            let (a, e) = (
                NodeKey::Artifact(ev.artifact_id),
                NodeKey::Execution(ev.execution_id),
            );
            let edge = match ev.event_type {
                LineageEventType::Input => (a, e),
                LineageEventType::Output => (e, a),
            };
            self.edges.entry(edge).or_insert(ev.port);
        }
        self.truncated |= answer.truncated;
    }

    /// How many nodes the graph holds.
    pub fn len(&self) -> usize {
        self.artifacts.len() + self.executions.len()
    }

    /// Whether the graph holds no node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is in the graph.
    pub fn contains(&self, key: NodeKey) -> bool {
        match key {
            NodeKey::Artifact(id) => self.artifacts.contains_key(&id),
            NodeKey::Execution(id) => self.executions.contains_key(&id),
        }
    }

    /// Every node, artifacts first, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeKey> + '_ {
        self.artifacts
            .keys()
            .map(|id| NodeKey::Artifact(*id))
            .chain(self.executions.keys().map(|id| NodeKey::Execution(*id)))
    }

    /// Every edge `(from, to, port)`.
    pub fn edges(&self) -> impl Iterator<Item = (NodeKey, NodeKey, &str)> + '_ {
        self.edges.iter().map(|((f, t), p)| (*f, *t, p.as_str()))
    }

    /// A node's name: the artifact's output name, the execution's task name.
    pub fn label(&self, key: NodeKey) -> String {
        self.field(key, |a| &a.name, |e| &e.name)
    }

    /// A node's type: the artifact's schema title, the execution's type.
    pub fn kind(&self, key: NodeKey) -> String {
        self.field(key, |a| &a.schema_title, |e| &e.execution_type)
    }

    /// One text field of a node: `artifact`'s for an artifact, `execution`'s for an execution
    /// (empty for a node not in the graph).
    fn field(
        &self,
        key: NodeKey,
        artifact: fn(&LineageArtifact) -> &String,
        execution: fn(&LineageExecution) -> &String,
    ) -> String {
        match key {
            NodeKey::Artifact(id) => self.artifacts.get(&id).map(artifact),
            NodeKey::Execution(id) => self.executions.get(&id).map(execution),
        }
        .cloned()
        .unwrap_or_default()
    }

    /// Whether an execution's outputs came from an earlier run's cache.
    pub fn is_cached(&self, key: NodeKey) -> bool {
        matches!(key, NodeKey::Execution(id)
            if self.executions.get(&id).is_some_and(|e| e.state == TaskState::Cached))
    }

    /// The types present, sorted: what the type filter offers.
    pub fn types(&self) -> Vec<String> {
        let set: BTreeSet<String> = self.nodes().map(|k| self.kind(k)).collect();
        set.into_iter().collect()
    }

    /// Whether `key` matches the search text (case-insensitive, in its name, URI, task path,
    /// run or component); an empty text matches nothing.
    pub fn matches(&self, key: NodeKey, text: &str) -> bool {
        let text = text.trim().to_lowercase();
        if text.is_empty() {
            return false;
        }
        let hay = match key {
            NodeKey::Artifact(id) => self
                .artifacts
                .get(&id)
                .map(|a| format!("{} {} {}", a.name, a.uri, a.schema_title)),
            NodeKey::Execution(id) => self.executions.get(&id).map(|e| {
                format!(
                    "{} {} {} {}",
                    e.name,
                    e.task_path,
                    e.run_id,
                    e.component.as_deref().unwrap_or_default()
                )
            }),
        };
        hay.is_some_and(|h| h.to_lowercase().contains(&text))
    }

    /// Whether `key` is shown under the type filter `only` (`None`: everything): a filter on an
    /// artifact type hides the other artifacts, one on an execution type the other executions.
    pub fn shown(&self, key: NodeKey, only: Option<&str>) -> bool {
        let Some(only) = only else { return true };
        let filter_is_artifact = self.artifacts.values().any(|a| a.schema_title == only);
        match key {
            NodeKey::Artifact(_) if filter_is_artifact => self.kind(key) == only,
            NodeKey::Execution(_) if !filter_is_artifact => self.kind(key) == only,
            _ => true,
        }
    }

    /// The executions that wrote `artifact` (a cached one reused it), oldest first.
    pub fn producers(&self, artifact: i64) -> Vec<&LineageExecution> {
        let a = NodeKey::Artifact(artifact);
        self.ends(|(f, t)| (*t == a).then_some(*f))
    }

    /// The executions that read `artifact`, oldest first.
    pub fn consumers(&self, artifact: i64) -> Vec<&LineageExecution> {
        let a = NodeKey::Artifact(artifact);
        self.ends(|(f, t)| (*f == a).then_some(*t))
    }

    fn ends(
        &self,
        pick: impl Fn(&(NodeKey, NodeKey)) -> Option<NodeKey>,
    ) -> Vec<&LineageExecution> {
        self.edges
            .keys()
            .filter_map(pick)
            .filter_map(|k| match k {
                NodeKey::Execution(id) => self.executions.get(&id),
                NodeKey::Artifact(_) => None,
            })
            .collect()
    }

    /// The shortest path between `from` and `to` along edges in either direction (nodes in
    /// order, both ends included), or `None` when they are not connected.
    pub fn path(&self, from: NodeKey, to: NodeKey) -> Option<Vec<NodeKey>> {
        if !self.contains(from) || !self.contains(to) {
            return None;
        }
        let mut next: FxHashMap<NodeKey, Vec<NodeKey>> = FxHashMap::default();
        for (f, t) in self.edges.keys() {
            next.entry(*f).or_default().push(*t);
            next.entry(*t).or_default().push(*f);
        }
        let mut came_from: FxHashMap<NodeKey, NodeKey> = FxHashMap::default();
        came_from.insert(from, from);
        let mut queue = VecDeque::from([from]);
        while let Some(n) = queue.pop_front() {
            if n == to {
                let mut path = vec![to];
                let mut at = to;
                while at != from {
                    at = *came_from.get(&at)?;
                    path.push(at);
                }
                path.reverse();
                return Some(path);
            }
            for m in next.get(&n).into_iter().flatten() {
                if !came_from.contains_key(m) {
                    came_from.insert(*m, n);
                    queue.push_back(*m);
                }
            }
        }
        None
    }

    /// Lays out the nodes `shown` keeps: each in the layer after the furthest of what feeds it
    /// (longest path, so every edge points right; nodes on a cycle, which a store cannot
    /// normally hold, go after what feeds them so far), ordered in its layer by where what
    /// feeds it sits. Linear in nodes and edges, apart from sorting each layer.
    pub fn layout(&self, shown: impl Fn(NodeKey) -> bool) -> Layout {
        let nodes: Vec<NodeKey> = self.nodes().filter(|k| shown(*k)).collect();
        let index: FxHashMap<NodeKey, usize> =
            nodes.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        let edges: Vec<(usize, usize)> = self
            .edges
            .keys()
            .filter_map(|(f, t)| Some((*index.get(f)?, *index.get(t)?)))
            .collect();
        let layer = pipeline::layout::layers(nodes.len(), &edges);
        let row = pipeline::layout::rows(&layer, &edges);
        let layers = layer.iter().copied().max().map_or(0, |m| m + 1);
        let mut by_layer: Vec<usize> = vec![0; layers];
        for l in &layer {
            by_layer[*l] += 1;
        }
        let tallest = by_layer.iter().copied().max().unwrap_or(0);
        let mut pos = FxHashMap::default();
        for (i, key) in nodes.iter().enumerate() {
            // Each layer centred on the tallest.
            let offset = (tallest - by_layer[layer[i]]) as f64 * ROW_GAP / 2.0;
            pos.insert(
                *key,
                (
                    layer[i] as f64 * LAYER_GAP,
                    offset + row[i] as f64 * ROW_GAP,
                ),
            );
        }
        Layout {
            pos,
            width: if layers == 0 {
                0.0
            } else {
                (layers - 1) as f64 * LAYER_GAP + NODE_W
            },
            height: if tallest == 0 {
                0.0
            } else {
                (tallest - 1) as f64 * ROW_GAP + NODE_H
            },
        }
    }
}

/// An artifact of a generated lineage ([`synthetic`], the tests).
fn artifact(id: i64, name: &str, title: &str) -> LineageArtifact {
    LineageArtifact {
        id,
        uri: format!("/runs/{id}/{name}"),
        name: name.into(),
        schema_title: title.into(),
        schema_version: None,
        metadata: Default::default(),
        state: "LIVE".into(),
        created_at: "2026-12-01T00:00:00Z".into(),
    }
}

/// An execution of a generated lineage: task `name` of `run`.
fn execution(id: i64, run: &str, name: &str, state: TaskState) -> LineageExecution {
    LineageExecution {
        id,
        run_id: run.into(),
        pipeline_name: "generated".into(),
        task_path: name.into(),
        name: name.into(),
        component: Some(format!("comp-{name}")),
        execution_type: "system.ContainerExecution".into(),
        state,
        started_at: None,
        ended_at: None,
        cache_key: None,
        parameters: Default::default(),
        output_parameters: Default::default(),
    }
}

/// An event of a generated lineage: execution `e` read or wrote artifact `a` through `port`.
fn event(e: i64, a: i64, event_type: LineageEventType, port: &str) -> ::api::LineageEvent {
    ::api::LineageEvent {
        execution_id: e,
        artifact_id: a,
        event_type,
        port: port.into(),
        index: 0,
    }
}

/// A generated lineage of about `nodes` nodes for the benchmark and the tests: chains of data
/// set → train → model → evaluate → metrics, every fifth training run cached from the one
/// before (it writes the same model), every chain reading the previous chain's data set too.
pub fn synthetic(nodes: usize) -> Lineage {
    use ::api::LineageEventType::{Input, Output};
    let mut l = Lineage::default();
    for c in 0..(nodes / 5) as i64 {
        let (data, model, metrics) = (c * 5, c * 5 + 1, c * 5 + 2);
        let (train, eval) = (c * 5 + 3, c * 5 + 4);
        let cached = c % 5 == 4;
        l.artifacts.push(artifact(data, "data", "system.Dataset"));
        l.artifacts.push(artifact(model, "model", "system.Model"));
        l.artifacts
            .push(artifact(metrics, "metrics", "system.Metrics"));
        let state = if cached {
            TaskState::Cached
        } else {
            TaskState::Succeeded
        };
        let run = format!("run-{c}");
        l.executions.push(execution(train, &run, "train", state));
        l.executions
            .push(execution(eval, &run, "evaluate", TaskState::Succeeded));
        l.events.push(event(train, data, Input, "data"));
        if c > 0 {
            l.events.push(event(train, data - 5, Input, "previous"));
        }
        let written = if cached { model - 5 } else { model };
        l.events.push(event(train, written, Output, "model"));
        l.events.push(event(eval, written, Input, "model"));
        l.events.push(event(eval, metrics, Output, "metrics"));
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    /// data (1) → train (10, run A) → model (2) → deploy (11) → endpoint (3); train again
    /// cached in run B (12) reusing the model; metrics (4) from train.
    fn seed() -> Graph {
        use LineageEventType::{Input, Output};
        let mut g = Graph::default();
        g.merge(Lineage {
            artifacts: vec![
                artifact(1, "data", "system.Dataset"),
                artifact(2, "model", "system.Model"),
                artifact(3, "endpoint", "google.VertexEndpoint"),
                artifact(4, "metrics", "system.Metrics"),
            ],
            executions: vec![
                execution(10, "run-a", "train", TaskState::Succeeded),
                execution(11, "run-a", "deploy", TaskState::Succeeded),
                execution(12, "run-b", "train", TaskState::Cached),
            ],
            events: vec![
                event(10, 1, Input, "data"),
                event(10, 2, Output, "model"),
                event(10, 4, Output, "metrics"),
                event(11, 2, Input, "model"),
                event(11, 3, Output, "endpoint"),
                event(12, 1, Input, "data"),
                event(12, 2, Output, "model"),
            ],
            truncated: false,
        });
        g
    }

    #[test]
    fn every_edge_points_right_and_no_two_nodes_overlap() {
        let g = seed();
        let l = g.layout(|_| true);
        assert_eq!(l.pos.len(), 7);
        for (f, t, _) in g.edges() {
            assert!(l.pos[&f].0 < l.pos[&t].0, "{f:?} → {t:?}");
        }
        let mut seen: Vec<(i64, i64)> = l
            .pos
            .values()
            .map(|(x, y)| (*x as i64, *y as i64))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 7);
        assert_eq!(
            l.pos[&NodeKey::Artifact(1)].0,
            0.0,
            "the data set is a source"
        );
        assert_eq!(l.pos[&NodeKey::Artifact(3)].0, 4.0 * LAYER_GAP);
        assert_eq!(l.width, 4.0 * LAYER_GAP + NODE_W);
    }

    #[test]
    fn the_path_runs_from_endpoint_back_to_training_data() {
        let g = seed();
        let path = g
            .path(NodeKey::Artifact(3), NodeKey::Artifact(1))
            .expect("connected");
        assert_eq!(
            path,
            [
                NodeKey::Artifact(3),
                NodeKey::Execution(11),
                NodeKey::Artifact(2),
                NodeKey::Execution(10),
                NodeKey::Artifact(1),
            ]
        );
        let mut lone = seed();
        lone.merge(Lineage {
            artifacts: vec![artifact(9, "lone", "system.Dataset")],
            ..Lineage::default()
        });
        assert_eq!(lone.path(NodeKey::Artifact(9), NodeKey::Artifact(1)), None);
        assert_eq!(lone.path(NodeKey::Artifact(99), NodeKey::Artifact(1)), None);
    }

    #[test]
    fn a_cached_execution_is_marked_and_the_model_has_two_producers() {
        let g = seed();
        assert!(g.is_cached(NodeKey::Execution(12)));
        assert!(!g.is_cached(NodeKey::Execution(10)));
        let runs: Vec<&str> = g.producers(2).iter().map(|e| e.run_id.as_str()).collect();
        assert_eq!(runs, ["run-a", "run-b"]);
        let readers: Vec<&str> = g.consumers(2).iter().map(|e| e.name.as_str()).collect();
        assert_eq!(readers, ["deploy"]);
    }

    #[test]
    fn search_and_type_filter() {
        let g = seed();
        assert!(g.matches(NodeKey::Artifact(2), "MODEL"));
        assert!(g.matches(NodeKey::Execution(12), "run-b"));
        assert!(!g.matches(NodeKey::Artifact(2), "  "));
        assert_eq!(
            g.types(),
            [
                "google.VertexEndpoint",
                "system.ContainerExecution",
                "system.Dataset",
                "system.Metrics",
                "system.Model"
            ]
        );
        let only = Some("system.Model");
        assert!(g.shown(NodeKey::Artifact(2), only));
        assert!(!g.shown(NodeKey::Artifact(1), only));
        assert!(g.shown(NodeKey::Execution(10), only), "executions stay");
        let l = g.layout(|k| g.shown(k, only));
        assert_eq!(l.pos.len(), 4);
    }

    #[test]
    fn merging_twice_keeps_one_of_each_and_tokens_round_trip() {
        let mut g = seed();
        let again = seed();
        g.merge(Lineage {
            artifacts: again.artifacts.values().cloned().collect(),
            executions: again.executions.values().cloned().collect(),
            events: vec![],
            truncated: true,
        });
        assert_eq!(g.len(), 7);
        assert_eq!(g.edges().count(), 7);
        assert!(g.truncated);
        for k in g.nodes() {
            assert_eq!(NodeKey::parse(&k.token()), Some(k));
        }
        assert_eq!(NodeKey::parse("x1"), None);
        assert_eq!(NodeKey::parse(""), None);
    }

    #[test]
    fn a_cycle_is_laid_out_without_looping() {
        use LineageEventType::{Input, Output};
        let mut g = Graph::default();
        g.merge(Lineage {
            artifacts: vec![artifact(1, "x", "system.Artifact")],
            executions: vec![execution(2, "r", "t", TaskState::Succeeded)],
            events: vec![event(2, 1, Input, "in"), event(2, 1, Output, "out")],
            truncated: false,
        });
        let l = g.layout(|_| true);
        assert_eq!(l.pos.len(), 2);
    }

    #[test]
    fn five_thousand_nodes_lay_out_in_layers() {
        let mut g = Graph::default();
        g.merge(synthetic(5000));
        assert_eq!(g.len(), 5000);
        let l = g.layout(|_| true);
        assert_eq!(l.pos.len(), 5000);
        for (f, t, _) in g.edges() {
            assert!(l.pos[&f].0 < l.pos[&t].0, "{f:?} → {t:?}");
        }
        assert!(g.is_cached(NodeKey::Execution(4 * 5 + 3)));
        assert_eq!(
            g.producers(4 * 5 + 1 - 5).len(),
            2,
            "a cached run reuses the model"
        );
    }
}
