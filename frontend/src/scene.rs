//! The canvas's fine-grained view of the document: one set of signals per node, group and wire
//! ("slots"), so that an edit re-renders what it changed and nothing else.
//!
//! The document stays one value (`AppState::doc`: undo, save, compile take it whole); after
//! every change [`Scene::sync`] compares it with the slots, element by element, and sets only
//! the signals whose value differs. A drag moves its elements' position signals directly and
//! touches the document once, when it ends. The canvas draws only what lies in view
//! ([`Scene::in_view`]) once a pipeline is large.

use std::sync::Arc;

use leptos::prelude::*;
use pipeline::layout::InnerDiagram;
use pipeline::map::Map;
use pipeline::shared::Shared;
use pipeline::{ComponentDef, Diagnostic, Document, Group, Node, Point, Size, Wire};

use crate::layout::{self, PortInfo, Rect};
use crate::spatial::Grid;

/// Above this many nodes the canvas draws only the elements in view (and around it); smaller
/// pipelines are drawn whole.
pub const CULL_ABOVE: usize = 150;

/// What a node of a component looks like: its port rows, in drawing order, and its height.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeShape {
    /// Inputs: artifacts, then parameters.
    pub ins: Vec<PortInfo>,
    /// Outputs: artifacts, then parameters.
    pub outs: Vec<PortInfo>,
    /// The component's title.
    pub title: Option<String>,
    /// The component's name.
    pub name: String,
    /// Height of the node box (closed).
    pub height: f64,
    /// For a sub-pipeline, the drawing of its tasks an open node shows.
    pub inner: Option<Arc<InnerDiagram>>,
}

impl NodeShape {
    /// The shape of nodes running `c`.
    pub fn of(c: &ComponentDef) -> Self {
        Self {
            ins: layout::input_ports(c),
            outs: layout::output_ports(c),
            title: c.title.clone(),
            name: c.name.clone(),
            height: layout::node_height(Some(c)),
            inner: c
                .pipeline
                .as_deref()
                .map(|sub| Arc::new(InnerDiagram::of(sub))),
        }
    }

    /// The node box's size, open (`expanded`: a sub-pipeline's tasks drawn inside) or not.
    pub fn size(&self, expanded: bool) -> Size {
        match &self.inner {
            Some(d) if expanded => d.open_size(self.height),
            _ => Size {
                width: layout::NODE_WIDTH,
                height: self.height,
            },
        }
    }

    /// Where a wire into input `port` ends, relative to the node's corner.
    pub fn in_anchor(&self, port: &str) -> Option<Point> {
        let i = self.ins.iter().position(|p| p.name == port)?;
        Some(Point {
            x: 0.0,
            y: layout::row_top(i) + layout::ROW / 2.0,
        })
    }

    /// Where a wire out of output `port` starts, relative to the node's corner (on its right
    /// edge, which moves out when the node is `expanded`).
    pub fn out_anchor(&self, port: &str, expanded: bool) -> Option<Point> {
        let j = self.outs.iter().position(|p| p.name == port)?;
        Some(Point {
            x: self.size(expanded).width,
            y: layout::row_top(self.ins.len() + j) + layout::ROW / 2.0,
        })
    }
}

/// The signals of one node.
#[derive(Clone)]
pub struct NodeSlot {
    /// The node as in the document (its position is [`NodeSlot::pos`]).
    pub node: ArcRwSignal<Node>,
    /// Where it is drawn: the document's position, or where a drag has it now.
    pub pos: ArcRwSignal<Point>,
    /// Whether it is drawn open ([`Node::expanded`]).
    pub expanded: ArcRwSignal<bool>,
    /// Its component's ports, `None` when the component is missing.
    pub shape: ArcRwSignal<Option<Arc<NodeShape>>>,
    /// Its inputs fed by a wire.
    pub wired: ArcRwSignal<Vec<String>>,
    /// The problems found in it.
    pub diags: ArcRwSignal<Vec<Diagnostic>>,
}

/// The signals of one group frame.
#[derive(Clone)]
pub struct GroupSlot {
    /// The group as in the document (its box is [`GroupSlot::rect`]).
    pub group: ArcRwSignal<Group>,
    /// Where it is drawn: the document's box, or where a drag has it now.
    pub rect: ArcRwSignal<Rect>,
    /// The problems found in it.
    pub diags: ArcRwSignal<Vec<Diagnostic>>,
}

/// The signals of one wire.
#[derive(Clone)]
pub struct WireSlot {
    /// The wire.
    pub wire: ArcRwSignal<Wire>,
    /// The problems found in it.
    pub diags: ArcRwSignal<Vec<Diagnostic>>,
}

/// What bringing one kind of slots in line with the document changed.
#[derive(Clone, Copy)]
struct Synced {
    /// Elements came, went or changed places.
    reordered: bool,
    /// A box changed (or elements came or went).
    geometry: bool,
}

impl Synced {
    fn any(self) -> bool {
        self.reordered || self.geometry
    }
}

/// Elements' boxes on the canvas, by id.
pub type Boxes = Vec<(String, Rect)>;

/// The slots of one kind of element, in document order, their ids in that order, and where
/// each id's slot is.
struct Table<S> {
    slots: Vec<S>,
    ids: Vec<String>,
    index: Map<usize>,
}

impl<S> Default for Table<S> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            ids: Vec::new(),
            index: Map::new(),
        }
    }
}

impl<S: Clone> Table<S> {
    fn get(&self, id: &str) -> Option<&S> {
        self.index.get(id).and_then(|&i| self.slots.get(i))
    }

    /// Puts the slots in the order of `ids` (taking existing slots by id, making the others
    /// with `make(i)`); whether anything was added or removed.
    fn reorder<'a>(
        &mut self,
        ids: impl ExactSizeIterator<Item = &'a str> + Clone,
        make: impl Fn(usize) -> S,
    ) -> bool {
        // In order, as the document keeps them: a plain comparison, no lookups (this runs on
        // every edit, a keystroke included).
        let same = ids.len() == self.ids.len() && ids.clone().zip(&self.ids).all(|(a, b)| a == b);
        if same {
            return false;
        }
        let mut old: Vec<Option<S>> = std::mem::take(&mut self.slots)
            .into_iter()
            .map(Some)
            .collect();
        self.slots = ids
            .clone()
            .enumerate()
            .map(|(i, id)| {
                self.index
                    .get(id)
                    .and_then(|&j| old.get_mut(j))
                    .and_then(Option::take)
                    .unwrap_or_else(|| make(i))
            })
            .collect();
        self.ids = ids.map(str::to_string).collect();
        self.index = self
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        true
    }
}

/// Everything [`Scene`] keeps.
#[derive(Default)]
struct Slots {
    nodes: Table<NodeSlot>,
    groups: Table<GroupSlot>,
    wires: Table<WireSlot>,
    /// The components the shapes were made from (shared with the document: comparing them
    /// with the document's is a pointer comparison until an edit changes them), and the shapes.
    components: Shared<Map<ComponentDef>>,
    shapes: Map<Arc<NodeShape>>,
    /// Node boxes, in document order (for culling, rubber bands and the minimap).
    node_boxes: Vec<(String, Rect)>,
    /// Group boxes, outer frames first.
    group_boxes: Vec<(String, Rect)>,
    /// Wire bounding boxes (the curve included).
    wire_boxes: Vec<(String, Rect)>,
    /// Spatial indexes of the three lists of boxes.
    grids: [Grid; 3],
}

/// The per-element signals of the document shown (see the module documentation). Copy.
#[derive(Clone, Copy)]
pub struct Scene {
    slots: StoredValue<Slots>,
    /// Node ids in document order.
    pub node_ids: RwSignal<Vec<String>>,
    /// Group ids, outer frames first.
    pub group_ids: RwSignal<Vec<String>>,
    /// Wire ids in document order.
    pub wire_ids: RwSignal<Vec<String>>,
    /// Changes whenever the boxes of [`Scene::in_view`] change (after an edit or a drag).
    pub geometry: RwSignal<u64>,
}

impl Scene {
    /// An empty scene.
    pub fn new() -> Self {
        Self {
            slots: StoredValue::new(Slots::default()),
            node_ids: RwSignal::new(Vec::new()),
            group_ids: RwSignal::new(Vec::new()),
            wire_ids: RwSignal::new(Vec::new()),
            geometry: RwSignal::new(0),
        }
    }

    /// The slot of node `id`.
    pub fn node(&self, id: &str) -> Option<NodeSlot> {
        self.slots.with_value(|s| s.nodes.get(id).cloned())
    }

    /// The slot of group `id`.
    pub fn group(&self, id: &str) -> Option<GroupSlot> {
        self.slots.with_value(|s| s.groups.get(id).cloned())
    }

    /// The slot of wire `id`.
    pub fn wire(&self, id: &str) -> Option<WireSlot> {
        self.slots.with_value(|s| s.wires.get(id).cloned())
    }

    /// Brings the slots in line with `doc`: new elements get slots, removed ones lose them,
    /// and of the others only the signals whose value changed are set.
    pub fn sync(&self, doc: &Document) {
        let mut geometry = false;
        let ids = self
            .slots
            .try_update_value(|s| {
                // Shapes: made again only for components that changed.
                if s.components != doc.components {
                    let old = std::mem::take(&mut s.shapes);
                    s.shapes = doc
                        .components
                        .iter()
                        .map(|(k, c)| {
                            let kept = old
                                .get(k)
                                .filter(|_| s.components.get(k) == Some(c))
                                .cloned();
                            (
                                k.clone(),
                                kept.unwrap_or_else(|| Arc::new(NodeShape::of(c))),
                            )
                        })
                        .collect();
                    s.components = doc.components.clone();
                    geometry = true;
                }
                let reshaped = geometry;
                // Wires first: which ports are wired is worked out again only when they
                // changed (or the nodes did).
                let wires = s.sync_wires(doc);
                let nodes = s.sync_nodes(doc, wires.any(), reshaped);
                let groups = s.sync_groups(doc);
                geometry |= nodes.geometry || groups.geometry || wires.geometry;
                if geometry {
                    s.rebuild_boxes(doc);
                }
                // The id lists, made again only when elements came or went (or the frames'
                // nesting order changed, which moves a box).
                (
                    nodes.reordered.then(|| s.nodes.ids.clone()),
                    geometry.then(|| {
                        s.group_boxes
                            .iter()
                            .map(|(id, _)| id.clone())
                            .collect::<Vec<_>>()
                    }),
                    wires.reordered.then(|| s.wires.ids.clone()),
                )
            })
            .unwrap_or_default();
        let (node_ids, group_ids, wire_ids) = ids;
        if let Some(ids) = node_ids {
            set_if_changed(self.node_ids, ids);
        }
        if let Some(ids) = group_ids {
            set_if_changed(self.group_ids, ids);
        }
        if let Some(ids) = wire_ids {
            set_if_changed(self.wire_ids, ids);
        }
        if geometry {
            self.geometry.update(|g| *g = g.wrapping_add(1));
        }
    }

    /// Hands every element its problems (after a compile).
    pub fn set_diagnostics(&self, diags: &[Diagnostic]) {
        self.slots.with_value(|s| {
            let mut nodes: Vec<Vec<Diagnostic>> = vec![Vec::new(); s.nodes.slots.len()];
            let mut groups: Vec<Vec<Diagnostic>> = vec![Vec::new(); s.groups.slots.len()];
            let mut wires: Vec<Vec<Diagnostic>> = vec![Vec::new(); s.wires.slots.len()];
            for d in diags {
                let put =
                    |list: &mut Vec<Vec<Diagnostic>>, index: &Map<usize>, id: &Option<String>| {
                        if let Some(l) = id
                            .as_deref()
                            .and_then(|id| index.get(id))
                            .and_then(|&i| list.get_mut(i))
                        {
                            l.push(d.clone());
                        }
                    };
                put(&mut nodes, &s.nodes.index, &d.node);
                put(&mut groups, &s.groups.index, &d.group);
                put(&mut wires, &s.wires.index, &d.wire);
            }
            let sigs = s
                .nodes
                .slots
                .iter()
                .map(|x| &x.diags)
                .zip(nodes)
                .chain(s.groups.slots.iter().map(|x| &x.diags).zip(groups))
                .chain(s.wires.slots.iter().map(|x| &x.diags).zip(wires));
            for (sig, new) in sigs {
                if sig.with_untracked(|old| *old != new) {
                    sig.set(new);
                }
            }
        });
    }

    /// Puts every position and frame box back to the document's (a drag was abandoned).
    pub fn reset_geometry(&self, doc: &Document) {
        self.slots.with_value(|s| {
            for (slot, n) in s.nodes.slots.iter().zip(&doc.nodes) {
                if slot.pos.get_untracked() != n.position {
                    slot.pos.set(n.position);
                }
            }
            for (slot, g) in s.groups.slots.iter().zip(&doc.groups) {
                let r = layout::group_rect(g);
                if slot.rect.get_untracked() != r {
                    slot.rect.set(r);
                }
            }
        });
    }

    /// The elements whose boxes meet `view` (world coordinates): (nodes, groups, wires), each
    /// in drawing order.
    pub fn in_view(&self, view: &Rect) -> (Vec<String>, Vec<String>, Vec<String>) {
        let pick = |grid: &Grid, boxes: &[(String, Rect)]| {
            grid.meeting(view, boxes, |b| &b.1)
                .into_iter()
                .filter_map(|i| boxes.get(i).map(|b| b.0.clone()))
                .collect::<Vec<_>>()
        };
        self.slots.with_value(|s| {
            (
                pick(&s.grids[0], &s.node_boxes),
                pick(&s.grids[1], &s.group_boxes),
                pick(&s.grids[2], &s.wire_boxes),
            )
        })
    }

    /// The node and group boxes that meet `r` (world coordinates): `(nodes, groups)`, found
    /// through the spatial index.
    pub fn boxes_meeting(&self, r: &Rect) -> (Boxes, Boxes) {
        let pick = |grid: &Grid, boxes: &[(String, Rect)]| {
            grid.meeting(r, boxes, |b| &b.1)
                .into_iter()
                .filter_map(|i| boxes.get(i).cloned())
                .collect::<Vec<_>>()
        };
        self.slots.with_value(|s| {
            (
                pick(&s.grids[0], &s.node_boxes),
                pick(&s.grids[1], &s.group_boxes),
            )
        })
    }

    /// The node and group boxes as committed to the document: `(nodes, groups)`.
    pub fn boxes(&self) -> (Boxes, Boxes) {
        self.slots
            .with_value(|s| (s.node_boxes.clone(), s.group_boxes.clone()))
    }
}

impl Default for Scene {
    fn default() -> Self {
        Self::new()
    }
}

impl Slots {
    /// Node slots follow `doc.nodes`; `wires_changed`: whether the wires did (so which ports
    /// are wired may have); `reshaped`: whether the components' shapes were made again.
    fn sync_nodes(&mut self, doc: &Document, wires_changed: bool, reshaped: bool) -> Synced {
        let shapes = &self.shapes;
        let reordered = self
            .nodes
            .reorder(doc.nodes.iter().map(|n| n.id.as_str()), |i| {
                let n = &doc.nodes[i];
                NodeSlot {
                    node: ArcRwSignal::new(n.clone()),
                    pos: ArcRwSignal::new(n.position),
                    expanded: ArcRwSignal::new(n.expanded),
                    shape: ArcRwSignal::new(shapes.get(&n.component).cloned()),
                    wired: ArcRwSignal::new(Vec::new()),
                    diags: ArcRwSignal::new(Vec::new()),
                }
            });
        let mut geometry = reordered;
        let mut wired: Vec<Option<Vec<String>>> = vec![None; doc.nodes.len()];
        if reordered || wires_changed {
            wired.fill(Some(Vec::new()));
            for w in &doc.wires {
                if let Some(Some(l)) = self
                    .nodes
                    .index
                    .get(&w.to.node)
                    .and_then(|&i| wired.get_mut(i))
                {
                    l.push(w.to.port.clone());
                }
            }
        }
        for ((slot, n), ports) in self.nodes.slots.iter().zip(&doc.nodes).zip(wired) {
            let changed = !slot.node.with_untracked(|old| same_node(old, n));
            if changed {
                slot.node.set(n.clone());
            }
            if slot.pos.get_untracked() != n.position {
                slot.pos.set(n.position);
                geometry = true;
            }
            if slot.expanded.get_untracked() != n.expanded {
                slot.expanded.set(n.expanded);
                geometry = true;
            }
            // Its shape changes only with its component, or the component's shape.
            if changed || reshaped || reordered {
                let shape = self.shapes.get(&n.component);
                let same_shape = slot.shape.with_untracked(|old| match (old, shape) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                });
                if !same_shape {
                    slot.shape.set(shape.cloned());
                    geometry = true;
                }
            }
            if let Some(ports) = ports {
                if slot.wired.with_untracked(|old| *old != ports) {
                    slot.wired.set(ports);
                }
            }
        }
        Synced {
            reordered,
            geometry,
        }
    }

    /// Group slots follow `doc.groups`.
    fn sync_groups(&mut self, doc: &Document) -> Synced {
        let reordered = self
            .groups
            .reorder(doc.groups.iter().map(|g| g.id.as_str()), |i| {
                let g = &doc.groups[i];
                GroupSlot {
                    group: ArcRwSignal::new(g.clone()),
                    rect: ArcRwSignal::new(layout::group_rect(g)),
                    diags: ArcRwSignal::new(Vec::new()),
                }
            });
        let mut geometry = reordered;
        for (slot, g) in self.groups.slots.iter().zip(&doc.groups) {
            if !slot.group.with_untracked(|old| same_group(old, g)) {
                slot.group.set(g.clone());
            }
            let rect = layout::group_rect(g);
            if slot.rect.get_untracked() != rect {
                slot.rect.set(rect);
                geometry = true;
            }
        }
        Synced {
            reordered,
            geometry,
        }
    }

    /// Wire slots follow `doc.wires` (a changed wire is a change of geometry: it is drawn
    /// elsewhere).
    fn sync_wires(&mut self, doc: &Document) -> Synced {
        let reordered = self
            .wires
            .reorder(doc.wires.iter().map(|w| w.id.as_str()), |i| WireSlot {
                wire: ArcRwSignal::new(doc.wires[i].clone()),
                diags: ArcRwSignal::new(Vec::new()),
            });
        let mut geometry = reordered;
        for (slot, w) in self.wires.slots.iter().zip(&doc.wires) {
            if slot.wire.with_untracked(|old| old != w) {
                slot.wire.set(w.clone());
                geometry = true;
            }
        }
        Synced {
            reordered,
            geometry,
        }
    }

    /// Recomputes the boxes of every node, group and wire.
    fn rebuild_boxes(&mut self, doc: &Document) {
        let size = |n: &Node| {
            self.shapes.get(&n.component).map_or(
                Size {
                    width: layout::NODE_WIDTH,
                    height: layout::node_height(None),
                },
                |s| s.size(n.expanded),
            )
        };
        self.node_boxes = doc
            .nodes
            .iter()
            .map(|n| {
                let s = size(n);
                (
                    n.id.clone(),
                    Rect {
                        x: n.position.x,
                        y: n.position.y,
                        w: s.width,
                        h: s.height,
                    },
                )
            })
            .collect();
        let mut groups: Vec<(usize, String, Rect)> = doc
            .groups
            .iter()
            .map(|g| {
                (
                    doc.group_chain(Some(&g.id)).len(),
                    g.id.clone(),
                    layout::group_rect(g),
                )
            })
            .collect();
        groups.sort_by_key(|g| g.0);
        self.group_boxes = groups.into_iter().map(|(_, id, r)| (id, r)).collect();
        let anchor = |node: &str, port: &str, out: bool| -> Option<Point> {
            let n = &doc.nodes[*self.nodes.index.get(node)?];
            let shape = self.shapes.get(&n.component)?;
            let a = if out {
                shape.out_anchor(port, n.expanded)?
            } else {
                shape.in_anchor(port)?
            };
            Some(Point {
                x: n.position.x + a.x,
                y: n.position.y + a.y,
            })
        };
        self.wire_boxes = doc
            .wires
            .iter()
            .filter_map(|w| {
                let a = anchor(&w.from.node, &w.from.port, true)?;
                let b = anchor(&w.to.node, &w.to.port, false)?;
                Some((w.id.clone(), wire_box(a, b)))
            })
            .collect();
        self.grids = [&self.node_boxes, &self.group_boxes, &self.wire_boxes]
            .map(|boxes| Grid::new(boxes.iter().map(|b| &b.1)));
    }
}

/// The box around the curve [`layout::wire_path`] draws from `a` to `b`.
pub fn wire_box(a: Point, b: Point) -> Rect {
    let dx = layout::wire_bend(a, b);
    let x0 = a.x.min(b.x - dx);
    let x1 = (a.x + dx).max(b.x);
    let y0 = a.y.min(b.y);
    let y1 = a.y.max(b.y);
    Rect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

fn set_if_changed<T: PartialEq + Send + Sync + 'static>(sig: RwSignal<T>, value: T) {
    if sig.with_untracked(|old| *old != value) {
        sig.set(value);
    }
}

/// Whether two nodes are equal but for their position.
pub fn same_node(a: &Node, b: &Node) -> bool {
    let Node {
        id,
        name,
        display_name,
        component,
        position: _,
        group,
        inputs,
        after,
        caching,
        cache_key,
        retry,
        run_after_failures,
        component_name,
        kubernetes,
        expanded: _,
    } = a;
    *id == b.id
        && *name == b.name
        && *display_name == b.display_name
        && *component == b.component
        && *group == b.group
        && *inputs == b.inputs
        && *after == b.after
        && *caching == b.caching
        && *cache_key == b.cache_key
        && *retry == b.retry
        && *run_after_failures == b.run_after_failures
        && *component_name == b.component_name
        && *kubernetes == b.kubernetes
}

/// Whether two groups are equal but for their box.
pub fn same_group(a: &Group, b: &Group) -> bool {
    let Group {
        id,
        kind,
        name,
        display_name,
        parent,
        position: _,
        size: _,
    } = a;
    *id == b.id
        && *kind == b.kind
        && *name == b.name
        && *display_name == b.display_name
        && *parent == b.parent
}

/// Whether two documents compile the same: equal but for where things are drawn.
pub fn same_shape(a: &Document, b: &Document) -> bool {
    let Document {
        format,
        name,
        display_name,
        description,
        pipeline_root,
        parameters,
        artifact_inputs,
        outputs,
        components,
        nodes,
        wires,
        groups,
        platform_spec,
        // Notes do not compile.
        comments: _,
    } = a;
    *format == b.format
        && *name == b.name
        && *display_name == b.display_name
        && *description == b.description
        && *pipeline_root == b.pipeline_root
        && *parameters == b.parameters
        && *artifact_inputs == b.artifact_inputs
        && *outputs == b.outputs
        && nodes.len() == b.nodes.len()
        && nodes.iter().zip(&b.nodes).all(|(x, y)| same_node(x, y))
        && groups.len() == b.groups.len()
        && groups.iter().zip(&b.groups).all(|(x, y)| same_group(x, y))
        && *wires == b.wires
        && *platform_spec == b.platform_spec
        && *components == b.components
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_does_not_change_the_shape() {
        let mut a = pipeline::synthetic::document(60);
        let b = a.clone();
        a.nodes[3].position.x += 40.0;
        a.groups[0].position.y -= 10.0;
        a.groups[0].size.width += 10.0;
        assert!(same_shape(&a, &b));
        // Opening a sub-pipeline task is geometry too: nothing to compile again.
        a.nodes[4].expanded = true;
        assert!(same_shape(&a, &b));
        a.nodes[3].name = "renamed".into();
        assert!(!same_shape(&a, &b));
    }

    /// What a scene shows of `doc`: the id lists and every slot's values.
    fn shown(scene: &Scene, doc: &Document) -> String {
        let mut out = format!(
            "nodes {:?}\ngroups {:?}\nwires {:?}\n",
            scene.node_ids.get_untracked(),
            scene.group_ids.get_untracked(),
            scene.wire_ids.get_untracked()
        );
        for n in &doc.nodes {
            let s = scene.node(&n.id).expect("a slot for every node");
            // The node signal's position and openness are not kept (`pos` and `expanded` are).
            let node = Node {
                position: Point { x: 0.0, y: 0.0 },
                expanded: false,
                ..s.node.get_untracked()
            };
            out += &format!(
                "{} {:?} {:?} {:?} {:?} {:?}\n",
                n.id,
                node,
                s.pos.get_untracked(),
                s.expanded.get_untracked(),
                s.shape.get_untracked(),
                s.wired.get_untracked()
            );
        }
        for g in &doc.groups {
            let s = scene.group(&g.id).expect("a slot for every group");
            // Likewise, its box is `rect`.
            let group = pipeline::Group {
                position: Point { x: 0.0, y: 0.0 },
                size: pipeline::Size {
                    width: 0.0,
                    height: 0.0,
                },
                ..s.group.get_untracked()
            };
            out += &format!("{group:?} {:?}\n", s.rect.get_untracked());
        }
        for w in &doc.wires {
            let s = scene.wire(&w.id).expect("a slot for every wire");
            out += &format!("{:?}\n", s.wire.get_untracked());
        }
        out += &format!("{:?}\n", scene.boxes());
        out
    }

    /// Edits of every kind, one after the other: after each, a scene kept in sync edit by edit
    /// (which skips what did not change) shows what a scene synced once from scratch shows.
    #[test]
    fn syncing_edit_by_edit_shows_what_syncing_afresh_shows() {
        type EditFn = fn(&mut Document);
        let edits: Vec<(&str, EditFn)> = vec![
            ("type a value", |d| {
                d.nodes[1]
                    .inputs
                    .insert("b".into(), pipeline::Binding::Value(serde_json::json!(12)));
            }),
            ("rename a task", |d| d.nodes[2].name = "renamed".into()),
            ("move a task", |d| d.nodes[3].position.x += 40.0),
            ("open a task", |d| d.nodes[4].expanded = true),
            ("remove a wire", |d| {
                d.wires.remove(0);
            }),
            ("rewire to another input", |d| {
                d.wires[0].to.port = "b".into()
            }),
            ("add a wire", |d| {
                d.wires.push(pipeline::Wire {
                    id: "w-new".into(),
                    from: pipeline::PortRef {
                        node: d.nodes[0].id.clone(),
                        port: "sum".into(),
                    },
                    to: pipeline::PortRef {
                        node: d.nodes[9].id.clone(),
                        port: "b".into(),
                    },
                });
            }),
            ("remove a task and its wires", |d| {
                let id = d.nodes.remove(5).id;
                d.wires.retain(|w| w.from.node != id && w.to.node != id);
            }),
            ("add a task", |d| {
                let mut n = d.nodes[0].clone();
                n.id = "n-new".into();
                n.name = "add-new".into();
                d.nodes.push(n);
            }),
            ("reorder tasks", |d| d.nodes.swap(0, 7)),
            ("change a component", |d| {
                if let Some(c) = d.components.get_mut("add") {
                    c.title = Some("Sum".into());
                    c.output_definitions.parameters.insert(
                        "carry".into(),
                        pipeline::ir::ParameterSpec::of(pipeline::ir::ParameterType::NumberInteger),
                    );
                }
            }),
            ("move a frame", |d| d.groups[0].position.y -= 30.0),
            ("remove a frame", |d| {
                let id = d.groups.remove(1).id;
                for n in &mut d.nodes {
                    if n.group.as_deref() == Some(id.as_str()) {
                        n.group = None;
                    }
                }
            }),
        ];
        let mut doc = pipeline::synthetic::document(60);
        let kept = Scene::new();
        kept.sync(&doc);
        for (what, edit) in edits {
            edit(&mut doc);
            kept.sync(&doc);
            let fresh = Scene::new();
            fresh.sync(&doc);
            let (kept, fresh) = (shown(&kept, &doc), shown(&fresh, &doc));
            let differ = kept.lines().zip(fresh.lines()).find(|(a, b)| a != b);
            assert_eq!(differ, None, "after: {what}");
            assert_eq!(kept.lines().count(), fresh.lines().count(), "after: {what}");
        }
    }

    /// An edit that leaves the components alone (typing a value) copies none of them: the
    /// state Undo keeps, the document and the scene share one set, so the edit neither copies
    /// nor compares them. Changing a component gives the document its own set.
    #[test]
    fn components_stay_shared_until_one_changes() {
        let mut doc = pipeline::synthetic::document(60);
        let scene = Scene::new();
        scene.sync(&doc);
        let before = doc.clone();
        doc.nodes[1]
            .inputs
            .insert("b".into(), pipeline::Binding::Value(serde_json::json!(7)));
        scene.sync(&doc);
        let scene_shares =
            |d: &Document| scene.slots.with_value(|s| s.components.same(&d.components));
        assert!(before.components.same(&doc.components));
        assert!(scene_shares(&doc));
        let title = |d: &Document| d.components.get("add").and_then(|c| c.title.clone());
        let old = title(&doc);
        if let Some(c) = doc.components.get_mut("add") {
            c.title = Some("Sum".into());
        }
        assert!(!before.components.same(&doc.components));
        assert_eq!(
            title(&before),
            old,
            "Undo's state keeps the component as it was"
        );
        assert_eq!(title(&doc).as_deref(), Some("Sum"));
        scene.sync(&doc);
        assert!(
            scene_shares(&doc),
            "the scene follows the changed components"
        );
    }

    #[test]
    fn wire_boxes_hold_the_curve() {
        let a = Point { x: 0.0, y: 0.0 };
        let b = Point { x: 10.0, y: 100.0 };
        let r = wire_box(a, b);
        // A short wire bends out beyond its ends.
        assert!(r.x < 0.0 && r.x + r.w > 10.0, "{r:?}");
        assert_eq!((r.y, r.h), (0.0, 100.0));
    }
}
