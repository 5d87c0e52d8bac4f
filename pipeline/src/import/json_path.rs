//! Where a JSON error is: the path of the value being read at an error's position, worked out
//! from the text only when an error occurs, so specs are read straight into their types.

/// The byte offset of a 1-based line and column (serde_json's error position).
pub(super) fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column).min(text.len())
}

/// The path (`root.dag.tasks.a.dependentTasks[0]`) of the value being read at byte `offset` of
/// JSON text: the keys and indices of the objects and lists open there. Errors are found by
/// deserializing straight into the types (fast, small in the browser); the path is worked out
/// only when one occurs.
pub(super) fn json_path_at(text: &str, offset: usize) -> String {
    enum Open {
        Object { key: Option<String>, at_key: bool },
        List(usize),
    }
    let mut open: Vec<Open> = Vec::new();
    let bytes = &text.as_bytes()[..offset.min(text.len())];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => open.push(Open::Object {
                key: None,
                at_key: true,
            }),
            b'[' => open.push(Open::List(0)),
            b'}' | b']' => {
                open.pop();
            }
            b':' => {
                if let Some(Open::Object { at_key, .. }) = open.last_mut() {
                    *at_key = false;
                }
            }
            b',' => match open.last_mut() {
                Some(Open::Object { at_key, .. }) => *at_key = true,
                Some(Open::List(n)) => *n += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Open::Object { key, at_key: true }) = open.last_mut() {
                    let raw = String::from_utf8_lossy(&bytes[start..i.min(bytes.len())]);
                    *key = Some(
                        serde_json::from_str(&format!("\"{raw}\""))
                            .unwrap_or_else(|_| raw.into_owned()),
                    );
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for o in &open {
        match o {
            Open::Object { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Open::Object { key: None, .. } => {}
            Open::List(n) => {
                path.push_str(&format!("[{n}]"));
            }
        }
    }
    path
}
