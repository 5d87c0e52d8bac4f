//! HTML text for read-only run details (task fields, tables, Markdown), set with `inner_html`:
//! one element type instead of a typed view per table keeps the wasm small. Everything that
//! comes from a run goes through [`esc`].

/// `s` with `& < > " '` escaped, safe in text and in quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A two-column table of `(key, value)` rows (values in a monospace cell), or nothing.
pub fn kv_table<'a>(testid: &str, rows: impl Iterator<Item = (&'a str, String)>) -> String {
    let body: String = rows
        .map(|(k, v)| {
            format!(
                "<tr><th>{}</th><td class=\"mono\">{}</td></tr>",
                esc(k),
                esc(&v)
            )
        })
        .collect();
    if body.is_empty() {
        return String::new();
    }
    format!(
        "<table class=\"run-kv\" data-testid=\"{}\">{body}</table>",
        esc(testid)
    )
}

/// The `data-action` and `data-id` of the element a click landed in (a list's buttons carry
/// both, so one handler on the list serves every row).
pub fn clicked_action(ev: &web_sys::MouseEvent) -> Option<(String, String)> {
    use wasm_bindgen::JsCast as _;
    let button = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("[data-action]").ok().flatten())?;
    Some((
        button.get_attribute("data-action")?,
        button.get_attribute("data-id")?,
    ))
}
