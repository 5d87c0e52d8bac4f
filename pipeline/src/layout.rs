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
            let h = node_height(doc.component_of(&doc.nodes[n]));
            sizes.insert(
                e,
                Size {
                    width: NODE_WIDTH,
                    height: h,
                },
            );
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
