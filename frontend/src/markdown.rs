//! A safe subset of Markdown for `system.Markdown` artifacts, as HTML text: every piece of
//! the source is escaped (raw HTML shows as text); the only markup is what this file writes —
//! `#` headings, paragraphs, `-`/`*`/`1.` list items, fenced code blocks, `` `code` ``,
//! `**bold**` and `[links](https://…)` to http(s) only.

use crate::html::esc;

/// `src` as HTML, inside `<div class="markdown">`.
pub fn to_html(src: &str) -> String {
    let mut out = String::from("<div class=\"markdown\" data-testid=\"markdown\">");
    let mut para: Vec<&str> = Vec::new();
    let mut list: Vec<&str> = Vec::new();
    let mut code: Option<Vec<&str>> = None;
    for line in src.lines() {
        if let Some(c) = code.as_mut() {
            if line.trim_start().starts_with("```") {
                out.push_str(&format!(
                    "<pre class=\"md-code\">{}</pre>",
                    esc(&c.join("\n"))
                ));
                code = None;
            } else {
                c.push(line);
            }
            continue;
        }
        let t = line.trim();
        let item = list_item(t);
        let head = heading(t);
        if !para.is_empty()
            && (t.is_empty() || t.starts_with("```") || item.is_some() || head.is_some())
        {
            out.push_str(&format!("<p>{}</p>", inline(&para.join(" "))));
            para.clear();
        }
        if !list.is_empty() && item.is_none() {
            let items: String = list
                .iter()
                .map(|i| format!("<li>{}</li>", inline(i)))
                .collect();
            out.push_str(&format!("<ul>{items}</ul>"));
            list.clear();
        }
        if t.starts_with("```") {
            code = Some(Vec::new());
        } else if let Some((level, text)) = head {
            let tag = ["h3", "h4", "h5"][level.min(3) - 1];
            out.push_str(&format!("<{tag}>{}</{tag}>", inline(text)));
        } else if let Some(i) = item {
            list.push(i);
        } else if !t.is_empty() {
            para.push(t);
        }
    }
    if let Some(c) = code {
        out.push_str(&format!(
            "<pre class=\"md-code\">{}</pre>",
            esc(&c.join("\n"))
        ));
    }
    if !para.is_empty() {
        out.push_str(&format!("<p>{}</p>", inline(&para.join(" "))));
    }
    if !list.is_empty() {
        let items: String = list
            .iter()
            .map(|i| format!("<li>{}</li>", inline(i)))
            .collect();
        out.push_str(&format!("<ul>{items}</ul>"));
    }
    out.push_str("</div>");
    out
}

fn heading(t: &str) -> Option<(usize, &str)> {
    let level = t.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    t.get(level..)?.strip_prefix(' ').map(|r| (level, r.trim()))
}

fn list_item(t: &str) -> Option<&str> {
    if let Some(r) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
        return Some(r);
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    t.get(digits..)?.strip_prefix(". ")
}

/// Inline spans: `code`, **bold**, [text](http…); everything else escaped text.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let span = match c {
            '`' => rest[1..]
                .find('`')
                .map(|end| (format!("<code>{}</code>", esc(&rest[1..1 + end])), end + 2)),
            '*' if rest.starts_with("**") => rest[2..].find("**").map(|end| {
                (
                    format!("<strong>{}</strong>", esc(&rest[2..2 + end])),
                    end + 4,
                )
            }),
            '[' => link(rest),
            _ => None,
        };
        match span {
            Some((html, len)) => {
                out.push_str(&html);
                rest = &rest[len..];
            }
            None => {
                out.push_str(&esc(&rest[..c.len_utf8()]));
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

fn link(rest: &str) -> Option<(String, usize)> {
    let close = rest.find("](")?;
    let end = rest[close + 2..].find(')')? + close + 2;
    let label = &rest[1..close];
    let url = rest[close + 2..end].trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return None;
    }
    Some((
        format!(
            "<a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{}</a>",
            esc(url),
            esc(label)
        ),
        end + 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn html_in_the_source_stays_text() {
        let h = to_html("# Title <b>\n\nA **bold** <script>alert(1)</script> `x<y`\n");
        assert!(h.contains("<h3>Title &lt;b&gt;</h3>"), "{h}");
        assert!(h.contains("<strong>bold</strong>"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
        assert!(h.contains("<code>x&lt;y</code>"), "{h}");
        assert!(!h.contains("<script"), "{h}");
    }

    #[test]
    fn lists_code_blocks_and_only_http_links() {
        let h = to_html("- one\n- [two](https://x.org/?a=\"b\")\n\n```\n<i>raw</i>\n```\n[bad](javascript:alert(1))");
        assert!(
            h.contains("<ul><li>one</li><li><a href=\"https://x.org/?a=&quot;b&quot;\""),
            "{h}"
        );
        assert!(
            h.contains("<pre class=\"md-code\">&lt;i&gt;raw&lt;/i&gt;</pre>"),
            "{h}"
        );
        assert!(!h.contains("href=\"javascript"), "{h}");
    }
}
