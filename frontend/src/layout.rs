//! Canvas geometry: node sizes, port positions and which group frame holds a point.
//!
//! Sizes come from `pipeline::layout` (shared with the importer's automatic layout); the node
//! view positions its rows with the same numbers, so wires end exactly on the port dots.

use pipeline::{ComponentDef, Document, Node, Point, PortType, Size};

pub use pipeline::layout::{
    node_height, GROUP_HEADER, GROUP_PADDING, HEADER, NODE_WIDTH, PAD, ROW,
};

/// The smallest size a group frame can be resized to.
pub const GROUP_MIN: Size = Size {
    width: 200.0,
    height: 120.0,
};
/// The size of a newly created condition frame.
pub const GROUP_DEFAULT: Size = Size {
    width: 520.0,
    height: 320.0,
};

/// An axis-aligned rectangle on the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// The rectangle with corners `a` and `b`.
    pub fn spanning(a: Point, b: Point) -> Rect {
        Rect {
            x: a.x.min(b.x),
            y: a.y.min(b.y),
            w: (a.x - b.x).abs(),
            h: (a.y - b.y).abs(),
        }
    }

    /// Whether `other` and this overlap (touching counts).
    pub fn meets(&self, other: &Rect) -> bool {
        other.x <= self.x + self.w
            && other.x + other.w >= self.x
            && other.y <= self.y + self.h
            && other.y + other.h >= self.y
    }

    /// Whether `p` lies inside (edges included).
    pub fn contains(&self, p: Point) -> bool {
        p.x >= self.x && p.x <= self.x + self.w && p.y >= self.y && p.y <= self.y + self.h
    }

    /// Whether `other` lies entirely inside.
    pub fn contains_rect(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.w <= self.x + self.w
            && other.y + other.h <= self.y + self.h
    }

    /// The centre point.
    pub fn center(&self) -> Point {
        Point {
            x: self.x + self.w / 2.0,
            y: self.y + self.h / 2.0,
        }
    }

    /// The smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect {
            x,
            y,
            w: (self.x + self.w).max(other.x + other.w) - x,
            h: (self.y + self.h).max(other.y + other.h) - y,
        }
    }
}

/// A port as drawn: name, type and whether it must be bound.
#[derive(Debug, Clone, PartialEq)]
pub struct PortInfo {
    /// Input or output name.
    pub name: String,
    /// Its type.
    pub ty: PortType,
    /// For inputs: neither optional nor defaulted.
    pub required: bool,
}

/// The input ports of a component in drawing order: artifacts, then parameters, each by name.
pub fn input_ports(c: &ComponentDef) -> Vec<PortInfo> {
    let defs = &c.input_definitions;
    defs.artifacts
        .keys()
        .chain(defs.parameters.keys())
        .filter_map(|name| {
            c.input_port(name).map(|ty| PortInfo {
                name: name.clone(),
                ty,
                required: c.input_required(name),
            })
        })
        .collect()
}

/// The output ports of a component in drawing order: artifacts, then parameters, each by name.
pub fn output_ports(c: &ComponentDef) -> Vec<PortInfo> {
    let defs = &c.output_definitions;
    defs.artifacts
        .keys()
        .chain(defs.parameters.keys())
        .filter_map(|name| {
            c.output_port(name).map(|ty| PortInfo {
                name: name.clone(),
                ty,
                required: false,
            })
        })
        .collect()
}

/// Top of port row `index` (inputs first, then outputs), relative to the node's top.
pub fn row_top(index: usize) -> f64 {
    HEADER + PAD + index as f64 * ROW
}

/// The rectangle a node covers.
pub fn node_rect(doc: &Document, node: &Node) -> Rect {
    let s = pipeline::layout::node_size(doc, node);
    Rect {
        x: node.position.x,
        y: node.position.y,
        w: s.width,
        h: s.height,
    }
}

/// The rectangle a group frame covers.
pub fn group_rect(g: &pipeline::Group) -> Rect {
    Rect {
        x: g.position.x,
        y: g.position.y,
        w: g.size.width,
        h: g.size.height,
    }
}

/// A number for CSS and SVG: at most three decimals, no trailing zeros (`12`, `0.35`, `-4.5`).
/// Formats through integers, which keeps float formatting code out of the wasm.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let scaled = (v * 1000.0).round() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let a = scaled.unsigned_abs();
    let (int, frac) = (a / 1000, a % 1000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let f = format!("{frac:03}");
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

/// A length in CSS pixels: `12px`, `0.5px`.
pub fn px(v: f64) -> String {
    format!("{}px", num(v))
}

/// How far a wire from `a` to `b` runs horizontally out of and into its ports.
pub fn wire_bend(a: Point, b: Point) -> f64 {
    ((b.x - a.x).abs() * 0.5).clamp(40.0, 160.0)
}

/// The SVG path of a wire from `a` (an output) to `b` (an input): a horizontal S-curve.
pub fn wire_path(a: Point, b: Point) -> String {
    let dx = wire_bend(a, b);
    format!(
        "M {} {} C {} {}, {} {}, {} {}",
        num(a.x),
        num(a.y),
        num(a.x + dx),
        num(a.y),
        num(b.x - dx),
        num(b.y),
        num(b.x),
        num(b.y)
    )
}

/// The innermost group frame containing `p`, ignoring `exclude` and the groups inside it.
pub fn innermost_group_at(doc: &Document, p: Point, exclude: Option<&str>) -> Option<String> {
    doc.groups
        .iter()
        .filter(|g| exclude.is_none_or(|ex| !doc.group_chain(Some(&g.id)).iter().any(|c| c == ex)))
        .filter(|g| group_rect(g).contains(p))
        .max_by(|a, b| {
            let da = doc.group_chain(Some(&a.id)).len();
            let db = doc.group_chain(Some(&b.id)).len();
            da.cmp(&db).then_with(|| {
                let area = |g: &pipeline::Group| g.size.width * g.size.height;
                area(b).total_cmp(&area(a))
            })
        })
        .map(|g| g.id.clone())
}

/// The innermost group frame fully containing `r`, ignoring `exclude` and the groups inside it.
pub fn innermost_group_around(doc: &Document, r: &Rect, exclude: Option<&str>) -> Option<String> {
    doc.groups
        .iter()
        .filter(|g| exclude.is_none_or(|ex| !doc.group_chain(Some(&g.id)).iter().any(|c| c == ex)))
        .filter(|g| group_rect(g).contains_rect(r))
        .max_by(|a, b| {
            let da = doc.group_chain(Some(&a.id)).len();
            let db = doc.group_chain(Some(&b.id)).len();
            da.cmp(&db).then_with(|| {
                let area = |g: &pipeline::Group| g.size.width * g.size.height;
                area(b).total_cmp(&area(a))
            })
        })
        .map(|g| g.id.clone())
}

/// The rectangle around every node and group, or `None` for an empty canvas.
pub fn content_bounds(doc: &Document) -> Option<Rect> {
    doc.nodes
        .iter()
        .map(|n| node_rect(doc, n))
        .chain(doc.groups.iter().map(group_rect))
        .reduce(|a, b| a.union(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::{Group, GroupKind};

    fn group(id: &str, parent: Option<&str>, x: f64, y: f64, w: f64, h: f64) -> Group {
        Group {
            id: id.into(),
            kind: GroupKind::Condition {
                expression: "x".into(),
            },
            name: None,
            display_name: None,
            parent: parent.map(str::to_string),
            position: Point { x, y },
            size: Size {
                width: w,
                height: h,
            },
        }
    }

    #[test]
    fn finds_the_innermost_group() {
        let mut doc = Document::new("p");
        doc.groups.push(group("g1", None, 0.0, 0.0, 1000.0, 1000.0));
        doc.groups
            .push(group("g2", Some("g1"), 100.0, 100.0, 300.0, 300.0));
        let inner = Point { x: 150.0, y: 150.0 };
        let outer = Point { x: 800.0, y: 800.0 };
        assert_eq!(innermost_group_at(&doc, inner, None).as_deref(), Some("g2"));
        assert_eq!(innermost_group_at(&doc, outer, None).as_deref(), Some("g1"));
        assert_eq!(
            innermost_group_at(&doc, Point { x: -5.0, y: 0.0 }, None),
            None
        );
        assert_eq!(
            innermost_group_at(&doc, inner, Some("g2")).as_deref(),
            Some("g1")
        );
        assert_eq!(innermost_group_at(&doc, inner, Some("g1")), None);
    }

    #[test]
    fn wire_path_runs_between_the_anchors() {
        let d = wire_path(Point { x: 0.0, y: 0.0 }, Point { x: 100.0, y: 50.0 });
        assert!(d.starts_with("M 0 0 C"), "{d}");
        assert!(d.ends_with("100 50"), "{d}");
    }

    #[test]
    fn formats_numbers_without_float_formatting() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(0.35), "0.35");
        assert_eq!(num(-4.5), "-4.5");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(1.23456), "1.235");
        assert_eq!(px(240.0), "240px");
    }
}
