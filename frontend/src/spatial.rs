//! A spatial index of the canvas's boxes: a uniform grid of buckets, so finding what lies in
//! the view (culling) or under a rubber band costs what is there, not the pipeline's size.
//!
//! A grid suits the canvas: boxes are of similar size (nodes, wires between neighbours), the
//! index is rebuilt in one linear pass when the geometry changes, and the code is small (the
//! start wasm has a size budget). A box spanning many cells (a long wire, a large frame) is
//! kept in a short list that is always checked, so no box is stored more than a few times.

use rustc_hash::FxHashMap;

use crate::layout::Rect;

/// The side of a grid cell, in canvas pixels: about a node and its gap.
const CELL: f64 = 320.0;
/// A box covering more cells than this is kept in the always-checked list instead.
const MAX_CELLS: i64 = 16;

/// Boxes by grid cell; queries answer indexes into the list the index was built from.
#[derive(Default)]
pub struct Grid {
    cells: FxHashMap<(i32, i32), Vec<u32>>,
    /// Boxes too large to bucket, and boxes with coordinates that are not finite.
    large: Vec<u32>,
    /// How many boxes were indexed.
    len: usize,
}

/// The cell holding coordinate `v` (clamped: far-away boxes share the border cells).
fn cell(v: f64) -> i32 {
    (v / CELL).floor().clamp(-1e6, 1e6) as i32
}

/// The cells a box covers, as inclusive ranges, and how many there are.
fn span(r: &Rect) -> ((i32, i32), (i32, i32), i64) {
    let (x0, x1) = (cell(r.x), cell(r.x + r.w.max(0.0)));
    let (y0, y1) = (cell(r.y), cell(r.y + r.h.max(0.0)));
    let n = (i64::from(x1) - i64::from(x0) + 1) * (i64::from(y1) - i64::from(y0) + 1);
    ((x0, x1), (y0, y1), n)
}

impl Grid {
    /// The index of `boxes`.
    pub fn new<'a>(boxes: impl Iterator<Item = &'a Rect>) -> Self {
        let mut g = Grid::default();
        for (i, r) in boxes.enumerate() {
            g.len += 1;
            let i = i as u32;
            let finite = r.x.is_finite() && r.y.is_finite() && r.w.is_finite() && r.h.is_finite();
            let ((x0, x1), (y0, y1), n) = span(r);
            if !finite || n > MAX_CELLS {
                g.large.push(i);
                continue;
            }
            for cx in x0..=x1 {
                for cy in y0..=y1 {
                    g.cells.entry((cx, cy)).or_default().push(i);
                }
            }
        }
        g
    }

    /// The indexes of the boxes that meet `view`, in increasing order: `boxes` is the list the
    /// index was built from, `rect` finds the box in one of its items.
    pub fn meeting<T>(&self, view: &Rect, boxes: &[T], rect: impl Fn(&T) -> &Rect) -> Vec<usize> {
        let ((x0, x1), (y0, y1), n) = span(view);
        // A view wider than the pipeline: a scan is cheaper than visiting empty cells.
        let mut found: Vec<usize> = if n as usize > self.cells.len() || n > 4096 {
            (0..self.len).collect()
        } else {
            let mut v: Vec<usize> = self.large.iter().map(|&i| i as usize).collect();
            for cx in x0..=x1 {
                for cy in y0..=y1 {
                    if let Some(c) = self.cells.get(&(cx, cy)) {
                        v.extend(c.iter().map(|&i| i as usize));
                    }
                }
            }
            v.sort_unstable();
            v.dedup();
            v
        };
        found.retain(|&i| boxes.get(i).is_some_and(|b| view.meets(rect(b))));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic scatter of boxes of node, wire and frame sizes.
    fn scatter(n: usize) -> Vec<Rect> {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |m: f64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1_000_000) as f64 / 1_000_000.0 * m
        };
        (0..n)
            .map(|i| {
                let (w, h) = match i % 5 {
                    0 => (next(9000.0), next(400.0)),  // a long wire
                    1 => (next(2000.0), next(1500.0)), // a frame
                    _ => (240.0, 80.0 + next(100.0)),  // a node
                };
                Rect {
                    x: next(40_000.0) - 2000.0,
                    y: next(20_000.0) - 1000.0,
                    w,
                    h,
                }
            })
            .collect()
    }

    #[test]
    fn it_finds_exactly_what_a_scan_finds_in_the_same_order() {
        let boxes = scatter(3000);
        let grid = Grid::new(boxes.iter());
        let views = [
            Rect {
                x: 0.0,
                y: 0.0,
                w: 1600.0,
                h: 1000.0,
            },
            Rect {
                x: 12_345.0,
                y: 4321.0,
                w: 800.0,
                h: 500.0,
            },
            Rect {
                x: -5000.0,
                y: -5000.0,
                w: 100.0,
                h: 100.0,
            },
            Rect {
                x: -1e7,
                y: -1e7,
                w: 2e7,
                h: 2e7,
            }, // zoomed far out
        ];
        for v in views {
            let scan: Vec<usize> = (0..boxes.len()).filter(|&i| v.meets(&boxes[i])).collect();
            assert_eq!(grid.meeting(&v, &boxes, |r| r), scan, "view {v:?}");
        }
    }

    #[test]
    fn odd_boxes_are_never_lost() {
        let boxes = vec![
            Rect {
                x: f64::NAN,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
            Rect {
                x: 1e300,
                y: -1e300,
                w: 1.0,
                h: 1.0,
            },
            Rect {
                x: 5.0,
                y: 5.0,
                w: 0.0,
                h: 0.0,
            },
        ];
        let grid = Grid::new(boxes.iter());
        let v = Rect {
            x: 0.0,
            y: 0.0,
            w: 100.0,
            h: 100.0,
        };
        assert_eq!(grid.meeting(&v, &boxes, |r| r), vec![2]);
        let none: [Rect; 0] = [];
        assert!(Grid::new(none.iter()).meeting(&v, &none, |r| r).is_empty());
    }
}
