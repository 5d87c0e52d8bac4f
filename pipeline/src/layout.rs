//! Canvas geometry shared by the browser and the importer, and the automatic layout of imported
//! pipelines: a layered DAG layout per group, groups drawn as frames around their members.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rustc_hash::FxHashMap as HashMap;

use crate::document::{ComponentDef, Document, Point, Size};
use crate::model::{analyze, Elem, Model, Scope};

/// Width of every node box, in canvas pixels.
pub const NODE_WIDTH: f64 = 240.0;
/// Height of a node's header (title and subtitle).
pub const HEADER: f64 = 46.0;
/// Height of one port row.
pub const ROW: f64 = 22.0;
/// Space above the first and below the last port row.
pub const PAD: f64 = 6.0;
/// Height of a group frame's title bar.
pub const GROUP_HEADER: f64 = 30.0;
/// Space between a frame's border and its members.
pub const GROUP_PADDING: f64 = 24.0;
/// Horizontal gap between layers.
pub const LAYER_GAP: f64 = 80.0;
/// Vertical gap between members of one layer.
pub const ROW_GAP: f64 = 40.0;

/// Height of a node running `c` (a bare header when the component is missing).
pub fn node_height(c: Option<&ComponentDef>) -> f64 {
    let rows = c.map_or(0, |c| {
        c.input_definitions.artifacts.len()
            + c.input_definitions.parameters.len()
            + c.output_definitions.artifacts.len()
            + c.output_definitions.parameters.len()
    });
    HEADER + 2.0 * PAD + rows as f64 * ROW
}

/// Scale at which an open sub-pipeline task draws the tasks inside it.
pub const INNER_SCALE: f64 = 0.5;
/// Height of a task's box inside an open sub-pipeline task (its name only).
pub const INNER_TASK_HEIGHT: f64 = 24.0;
/// Space around the drawing inside an open sub-pipeline task.
pub const INNER_PAD: f64 = 12.0;

/// One box of an [`InnerDiagram`]: a task, or a frame of a group, relative to the drawing's
/// top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub struct InnerBox {
    /// The task's shown name, or the group's.
    pub label: String,
    /// Top-left corner.
    pub at: Point,
    /// Size.
    pub size: Size,
    /// A task that is itself a sub-pipeline.
    pub sub: bool,
}

/// The tasks inside a sub-pipeline, drawn small inside an open sub-pipeline task
/// ([`Node::expanded`](crate::Node::expanded)): the sub-pipeline's own layout at
/// [`INNER_SCALE`], each task as a box with its name, each group as a frame, and a link per
/// wire. Nested sub-pipelines are drawn as tasks (closed).
#[derive(Debug, Clone, PartialEq)]
pub struct InnerDiagram {
    /// Task boxes, in document order.
    pub tasks: Vec<InnerBox>,
    /// Group frames, outer frames first.
    pub frames: Vec<InnerBox>,
    /// Wires, from an output's task (right edge) to an input's task (left edge).
    pub links: Vec<(Point, Point)>,
    /// The drawing's size.
    pub size: Size,
}

impl InnerDiagram {
    /// The drawing of the sub-pipeline `sub`. When its tasks have no positions of their own
    /// (all at one point, as in a hand-written document; imports are laid out), they are drawn
    /// in rows in document order, without frames. (Not [`layout`]: the browser draws this at
    /// start, and the layered layout is kept out of its first download.)
    pub fn of(sub: &Document) -> Self {
        let placed = sub
            .nodes
            .first()
            .is_some_and(|f| sub.nodes.iter().any(|n| n.position != f.position));
        let arranged;
        let doc = if placed || sub.nodes.len() < 2 {
            sub
        } else {
            let mut d = sub.clone();
            let columns = (d.nodes.len() as f64).sqrt().ceil().max(1.0) as usize;
            let tallest = d
                .nodes
                .iter()
                .map(|n| node_height(sub.component_of(n)))
                .fold(HEADER, f64::max);
            for (i, n) in d.nodes.iter_mut().enumerate() {
                n.position = Point {
                    x: (i % columns) as f64 * (NODE_WIDTH + LAYER_GAP),
                    y: (i / columns) as f64 * (tallest + ROW_GAP),
                };
            }
            d.groups.clear();
            arranged = d;
            &arranged
        };
        let node_box = |n: &crate::Node| (n.position, NODE_WIDTH, node_height(doc.component_of(n)));
        let mut min = Point {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut max = Point {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        let mut extend = |p: Point, w: f64, h: f64| {
            min.x = min.x.min(p.x);
            min.y = min.y.min(p.y);
            max.x = max.x.max(p.x + w);
            max.y = max.y.max(p.y + h);
        };
        for n in &doc.nodes {
            let (p, w, h) = node_box(n);
            extend(p, w, h);
        }
        for g in &doc.groups {
            extend(g.position, g.size.width, g.size.height);
        }
        if !min.x.is_finite() || !max.x.is_finite() {
            return Self {
                tasks: Vec::new(),
                frames: Vec::new(),
                links: Vec::new(),
                size: Size {
                    width: NODE_WIDTH - 2.0 * INNER_PAD,
                    height: INNER_TASK_HEIGHT,
                },
            };
        }
        let at = |p: Point| Point {
            x: ((p.x - min.x) * INNER_SCALE).round(),
            y: ((p.y - min.y) * INNER_SCALE).round(),
        };
        let task_size = Size {
            width: NODE_WIDTH * INNER_SCALE,
            height: INNER_TASK_HEIGHT,
        };
        let tasks: Vec<InnerBox> = doc
            .nodes
            .iter()
            .map(|n| InnerBox {
                label: n.shown_name().to_string(),
                at: at(n.position),
                size: task_size,
                sub: doc.component_of(n).is_some_and(|c| c.pipeline.is_some()),
            })
            .collect();
        let mut frames: Vec<(usize, InnerBox)> = doc
            .groups
            .iter()
            .map(|g| {
                (
                    doc.group_chain(Some(&g.id)).len(),
                    InnerBox {
                        label: g.name.clone().unwrap_or_else(|| g.id.clone()),
                        at: at(g.position),
                        size: Size {
                            width: (g.size.width * INNER_SCALE).round(),
                            height: (g.size.height * INNER_SCALE).round(),
                        },
                        sub: false,
                    },
                )
            })
            .collect();
        frames.sort_by_key(|f| f.0);
        let index: HashMap<&str, usize> = doc
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let links = doc
            .wires
            .iter()
            .filter_map(|w| {
                let a = tasks.get(*index.get(w.from.node.as_str())?)?;
                let b = tasks.get(*index.get(w.to.node.as_str())?)?;
                Some((
                    Point {
                        x: a.at.x + a.size.width,
                        y: a.at.y + a.size.height / 2.0,
                    },
                    Point {
                        x: b.at.x,
                        y: b.at.y + b.size.height / 2.0,
                    },
                ))
            })
            .collect();
        let size = Size {
            width: ((max.x - min.x) * INNER_SCALE).round(),
            height: ((max.y - min.y) * INNER_SCALE)
                .round()
                .max(INNER_TASK_HEIGHT),
        };
        Self {
            tasks,
            frames: frames.into_iter().map(|f| f.1).collect(),
            links,
            size,
        }
    }

    /// The size of an open task whose closed box is `height` high and that draws this.
    pub fn open_size(&self, height: f64) -> Size {
        Size {
            width: NODE_WIDTH.max(self.size.width + 2.0 * INNER_PAD),
            height: height + self.size.height + 2.0 * INNER_PAD,
        }
    }
}

/// The box of `node` in `doc`: [`NODE_WIDTH`] by its ports' height, or, for an open
/// sub-pipeline task, large enough to draw the tasks inside it ([`InnerDiagram`]).
pub fn node_size(doc: &Document, node: &crate::Node) -> Size {
    let c = doc.component_of(node);
    let height = node_height(c);
    match c.and_then(|c| c.pipeline.as_deref()) {
        Some(sub) if node.expanded => InnerDiagram::of(sub).open_size(height),
        _ => Size {
            width: NODE_WIDTH,
            height,
        },
    }
}

/// Lays out every node and group: in each DAG, tasks go in columns by dependency depth, and
/// each group's frame is sized to hold its members.
pub fn layout(doc: &mut Document) {
    let shape = Shape::of(&analyze(doc).0);
    place(doc, &shape);
}

/// What the layout needs of a document's analysis: where each task sits and what depends on
/// what. Owned, so the importer can lay out with the analysis it already made.
pub(crate) struct Shape {
    parent: Vec<Scope>,
    node_scope: Vec<Scope>,
    group_order: Vec<usize>,
    /// Dependencies between siblings (producer → consumer).
    pub edges: BTreeSet<(Elem, Elem)>,
}

impl Shape {
    /// The shape of an analysed document.
    pub fn of(m: &Model<'_>) -> Self {
        Self {
            parent: m.parent.clone(),
            node_scope: m.node_scope.clone(),
            group_order: m.group_order.clone(),
            edges: m.edges.clone(),
        }
    }

    fn container(&self, e: Elem) -> Scope {
        match e {
            Elem::Node(n) => self.node_scope.get(n).copied().flatten(),
            Elem::Group(g) => self.parent.get(g).copied().flatten(),
        }
    }
}

/// Lays out `doc` (see [`layout`]) given its shape. Linear in the size of the document (and
/// the depth of its nesting, which the analysis bounds).
pub(crate) fn place(doc: &mut Document, shape: &Shape) {
    // The members of each DAG, in document order (nodes, then groups), and the dependencies
    // between them.
    let mut members: HashMap<Scope, Vec<Elem>> = HashMap::default();
    let elems = (0..doc.nodes.len().min(shape.node_scope.len()))
        .map(Elem::Node)
        .chain((0..doc.groups.len().min(shape.parent.len())).map(Elem::Group));
    for e in elems {
        members.entry(shape.container(e)).or_default().push(e);
    }
    let mut edges: HashMap<Scope, Vec<(Elem, Elem)>> = HashMap::default();
    for &(a, b) in &shape.edges {
        let scope = shape.container(a);
        if a != b && shape.container(b) == scope {
            edges.entry(scope).or_default().push((a, b));
        }
    }
    let mut sizes: HashMap<Elem, Size> = HashMap::default();
    let mut offsets: HashMap<Elem, Point> = HashMap::default();
    // Children before parents, so frames know their members' sizes.
    let mut scopes: Vec<Scope> = shape.group_order.iter().rev().map(|&g| Some(g)).collect();
    scopes.push(None);
    for scope in &scopes {
        let size = layout_scope(
            doc,
            members.get(scope).map_or(&[], Vec::as_slice),
            edges.get(scope).map_or(&[], Vec::as_slice),
            &mut sizes,
            &mut offsets,
        );
        if let Some(g) = scope {
            sizes.insert(Elem::Group(*g), size);
        }
    }
    // Parents before children: absolute positions.
    let origin = Point { x: 40.0, y: 40.0 };
    for (&e, &offset) in &offsets {
        let mut p = offset;
        let mut cur = shape.container(e);
        // Bounded: a malformed parent cycle cannot loop forever.
        let mut hops = 0;
        while let Some(g) = cur {
            let o = offsets.get(&Elem::Group(g)).copied().unwrap_or_default();
            p.x += o.x + GROUP_PADDING;
            p.y += o.y + GROUP_HEADER + GROUP_PADDING;
            cur = shape.parent.get(g).copied().flatten();
            hops += 1;
            if hops > shape.parent.len() {
                break;
            }
        }
        let p = Point {
            x: p.x + origin.x,
            y: p.y + origin.y,
        };
        match e {
            Elem::Node(n) => doc.nodes[n].position = p,
            Elem::Group(g) => {
                doc.groups[g].position = p;
                if let Some(s) = sizes.get(&e) {
                    doc.groups[g].size = *s;
                }
            }
        }
    }
}

/// Places the `members` of one DAG relative to its top-left, in columns by the longest path
/// of `edges` (dependencies between members) leading to each; returns the frame size it needs.
fn layout_scope(
    doc: &Document,
    members: &[Elem],
    edges: &[(Elem, Elem)],
    sizes: &mut HashMap<Elem, Size>,
    offsets: &mut HashMap<Elem, Point>,
) -> Size {
    for &e in members {
        if let Elem::Node(n) = e {
            sizes.insert(e, node_size(doc, &doc.nodes[n]));
        }
    }
    let index: HashMap<Elem, usize> = members.iter().enumerate().map(|(i, &e)| (e, i)).collect();
    let pairs: Vec<(usize, usize)> = edges
        .iter()
        .filter_map(|(a, b)| Some((*index.get(a)?, *index.get(b)?)))
        .collect();
    let layer = layers(members.len(), &pairs);
    let mut columns: BTreeMap<usize, Vec<Elem>> = BTreeMap::new();
    for (i, &e) in members.iter().enumerate() {
        columns.entry(layer[i]).or_default().push(e);
    }
    let mut x = 0.0;
    let mut width: f64 = 0.0;
    let mut height: f64 = 0.0;
    for column in columns.values() {
        let mut y = 0.0;
        let mut col_width: f64 = 0.0;
        for &e in column {
            let s = sizes.get(&e).copied().unwrap_or(Size {
                width: NODE_WIDTH,
                height: HEADER,
            });
            offsets.insert(e, Point { x, y });
            y += s.height + ROW_GAP;
            col_width = col_width.max(s.width);
        }
        height = height.max(y - ROW_GAP);
        width = x + col_width;
        x += col_width + LAYER_GAP;
    }
    Size {
        width: width.max(NODE_WIDTH) + 2.0 * GROUP_PADDING,
        height: height.max(HEADER) + GROUP_HEADER + 2.0 * GROUP_PADDING,
    }
}

/// The column of each of `n` nodes in a layered drawing of `edges` (`(from, to)` indexes):
/// one after the furthest of what feeds it (longest path, so every edge points right). A node
/// on a cycle goes after what feeds it so far: the cycle's first node is released as if its
/// remaining inputs were not there. Linear in nodes and edges (plus the cycles' releases).
pub fn layers(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for &(f, t) in edges {
        if f < n && t < n {
            succ[f].push(t);
            indegree[t] += 1;
        }
    }
    let mut layer = vec![0usize; n];
    let mut done = vec![false; n];
    let mut queued = vec![false; n];
    let mut queue: VecDeque<usize> = (0..n).filter(|i| indegree[*i] == 0).collect();
    for &i in &queue {
        queued[i] = true;
    }
    let mut next_release = 0;
    loop {
        while let Some(i) = queue.pop_front() {
            if done[i] {
                continue;
            }
            done[i] = true;
            for &j in &succ[i] {
                // An edge back into what is placed (a cycle) is left out.
                if done[j] {
                    continue;
                }
                layer[j] = layer[j].max(layer[i] + 1);
                indegree[j] = indegree[j].saturating_sub(1);
                if indegree[j] == 0 && !queued[j] {
                    queued[j] = true;
                    queue.push_back(j);
                }
            }
        }
        while next_release < n && (done[next_release] || queued[next_release]) {
            next_release += 1;
        }
        if next_release == n {
            break;
        }
        queued[next_release] = true;
        queue.push_back(next_release);
    }
    layer
}

/// The row of each node in its column (`layer`, from [`layers`]): columns are ordered left
/// to right, each by the mean row of what feeds its nodes (one sweep; nodes fed by nothing go
/// last, ties keep the nodes' order).
pub fn rows(layer: &[usize], edges: &[(usize, usize)]) -> Vec<usize> {
    let n = layer.len();
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(f, t) in edges {
        if f < n && t < n && f != t {
            pred[t].push(f);
        }
    }
    let columns = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut by_layer: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (i, l) in layer.iter().enumerate() {
        by_layer[*l].push(i);
    }
    let mut row = vec![0usize; n];
    for members in &mut by_layer {
        let key = |i: usize| {
            let p = &pred[i];
            if p.is_empty() {
                f64::MAX
            } else {
                p.iter().map(|j| row[*j] as f64).sum::<f64>() / p.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize)> = members.iter().map(|i| (key(*i), *i)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (r, (_, i)) in keyed.into_iter().enumerate() {
            row[i] = r;
        }
    }
    row
}

#[cfg(test)]
mod layer_tests {
    use super::{layers, rows};

    #[test]
    fn every_edge_points_right_and_rows_follow_what_feeds_them() {
        // 0 → 1 → 3, 0 → 2 → 3, 4 → 3, 5 alone.
        let edges = [(0, 1), (1, 3), (0, 2), (2, 3), (4, 3)];
        let l = layers(6, &edges);
        assert_eq!(l, vec![0, 1, 1, 2, 0, 0]);
        let r = rows(&l, &edges);
        // Column 0: 0, 4, 5 (none fed: keep their order); column 1 fed by row 0.
        assert_eq!((r[0], r[4], r[5]), (0, 1, 2));
        assert_eq!((r[1], r[2]), (0, 1));
        assert_eq!(r[3], 0);
    }

    #[test]
    fn a_cycle_is_broken_and_out_of_range_edges_are_ignored() {
        let edges = [(0, 1), (1, 2), (2, 1), (2, 9)];
        let l = layers(3, &edges);
        assert_eq!(l[0], 0);
        assert!(l[1] >= 1 && l[2] >= 1 && l[1] != l[2], "{l:?}");
        assert_eq!(rows(&l, &edges).len(), 3);
        assert!(layers(0, &[]).is_empty());
    }
}

#[cfg(test)]
mod inner_tests {
    use super::{layout, node_size, InnerDiagram, INNER_SCALE, INNER_TASK_HEIGHT, NODE_WIDTH};
    use crate::document::{ComponentDef, Document, Node, Point};

    /// A pipeline with two tasks of a sub-pipeline of `inner` tasks, the second after the first.
    fn outer(inner: usize) -> Document {
        let sub = crate::synthetic::document(inner);
        let mut doc = Document::new("outer");
        doc.components.insert(
            "sub".into(),
            ComponentDef {
                name: "sub".into(),
                title: None,
                description: None,
                input_definitions: Default::default(),
                output_definitions: Default::default(),
                executor: None,
                pipeline: Some(Box::new(sub)),
            },
        );
        doc.nodes.push(Node::new("n1", "first", "sub"));
        let mut second = Node::new("n2", "second", "sub");
        second.after.push("n1".into());
        doc.nodes.push(second);
        doc
    }

    fn inner_of(doc: &Document) -> &Document {
        doc.components["sub"]
            .pipeline
            .as_deref()
            .expect("a sub-pipeline")
    }

    #[test]
    fn the_drawing_holds_every_task_frame_and_wire_of_the_sub_pipeline() {
        let doc = outer(12);
        let sub = inner_of(&doc);
        let d = InnerDiagram::of(sub);
        assert_eq!(d.tasks.len(), sub.nodes.len());
        assert_eq!(d.frames.len(), sub.groups.len());
        assert_eq!(d.links.len(), sub.wires.len());
        assert_eq!(d.tasks[3].label, sub.nodes[3].shown_name());
        // No two tasks at one place.
        let distinct: std::collections::BTreeSet<(i64, i64)> = d
            .tasks
            .iter()
            .map(|t| (t.at.x as i64, t.at.y as i64))
            .collect();
        assert_eq!(distinct.len(), d.tasks.len(), "{:?}", d.tasks);
        for b in d.tasks.iter().chain(&d.frames) {
            assert!(b.at.x >= 0.0 && b.at.y >= 0.0, "{b:?}");
            assert!(
                b.at.x + b.size.width <= d.size.width + 0.5,
                "{b:?} in {:?}",
                d.size
            );
            assert!(
                b.at.y + b.size.height <= d.size.height + 0.5,
                "{b:?} in {:?}",
                d.size
            );
        }
        assert_eq!(d.tasks[0].size.width, NODE_WIDTH * INNER_SCALE);
        assert_eq!(d.tasks[0].size.height, INNER_TASK_HEIGHT);
        // Each link runs from its producer's right edge to its consumer's left edge.
        let w = &sub.wires[0];
        let index = |id: &str| sub.nodes.iter().position(|n| n.id == id).unwrap();
        let (a, b) = (&d.tasks[index(&w.from.node)], &d.tasks[index(&w.to.node)]);
        assert_eq!(d.links[0].0.x, a.at.x + a.size.width);
        assert_eq!(d.links[0].1.x, b.at.x);
    }

    #[test]
    fn an_open_task_is_as_large_as_its_drawing_and_the_layout_makes_room_for_it() {
        let mut doc = outer(12);
        let closed = node_size(&doc, &doc.nodes[0]);
        assert_eq!(closed.width, NODE_WIDTH);
        doc.nodes[0].expanded = true;
        let open = node_size(&doc, &doc.nodes[0]);
        let drawing = InnerDiagram::of(inner_of(&doc)).size;
        assert!(
            open.width >= drawing.width && open.width > NODE_WIDTH,
            "{open:?}"
        );
        assert!(open.height >= closed.height + drawing.height, "{open:?}");
        layout(&mut doc);
        let (a, b) = (doc.nodes[0].position, doc.nodes[1].position);
        assert!(
            b.x >= a.x + open.width,
            "the task after the open one starts past it: {a:?} {b:?}"
        );
        // Closing it again gives the closed size back; the flag never changes the spec.
        let compiled_open = crate::compile(&doc);
        doc.nodes[0].expanded = false;
        assert_eq!(node_size(&doc, &doc.nodes[0]), closed);
        assert_eq!(crate::compile(&doc).spec, compiled_open.spec);
    }

    #[test]
    fn an_empty_or_placed_sub_pipeline_is_drawn_as_it_is() {
        let d = InnerDiagram::of(&Document::new("empty"));
        assert!(d.tasks.is_empty() && d.size.width > 0.0);
        // Without positions: tasks in rows (none on another), frames left out (no boxes).
        let mut unplaced = crate::synthetic::document(5);
        for n in &mut unplaced.nodes {
            n.position = Point::default();
        }
        let d = InnerDiagram::of(&unplaced);
        let spots: std::collections::BTreeSet<(i64, i64)> = d
            .tasks
            .iter()
            .map(|t| (t.at.x as i64, t.at.y as i64))
            .collect();
        assert_eq!(spots.len(), 5, "{:?}", d.tasks);
        assert!(d.frames.is_empty());
        assert_eq!(d.links.len(), unplaced.wires.len());
        let mut sub = crate::synthetic::document(2);
        sub.groups.clear();
        sub.nodes[1].group = None;
        sub.nodes[0].position = Point { x: 100.0, y: 50.0 };
        sub.nodes[1].position = Point { x: 500.0, y: 50.0 };
        let d = InnerDiagram::of(&sub);
        assert_eq!(d.tasks[0].at, Point { x: 0.0, y: 0.0 });
        assert_eq!(d.tasks[1].at, Point { x: 200.0, y: 0.0 });
    }

    #[test]
    fn a_placed_frame_is_drawn_at_scale() {
        let mut sub = crate::synthetic::document(3);
        for (i, n) in sub.nodes.iter_mut().enumerate() {
            n.position = Point {
                x: 100.0 + 400.0 * i as f64,
                y: 50.0,
            };
        }
        sub.groups[0].position = Point { x: 450.0, y: 20.0 };
        sub.groups[0].size = crate::document::Size {
            width: 900.0,
            height: 200.0,
        };
        let d = InnerDiagram::of(&sub);
        assert_eq!(d.frames.len(), 1);
        assert_eq!(d.frames[0].at, Point { x: 175.0, y: 0.0 });
        assert_eq!(d.frames[0].size.width, 450.0);
        assert_eq!(d.tasks[1].at, Point { x: 200.0, y: 15.0 });
    }

    #[test]
    fn the_flag_is_left_out_of_the_json_when_closed() {
        let mut doc = outer(2);
        assert!(!doc.to_json().contains("expanded"));
        doc.nodes[0].expanded = true;
        let back = Document::from_json(&doc.to_json()).expect("reads back");
        assert!(back.nodes[0].expanded && !back.nodes[1].expanded);
    }
}
