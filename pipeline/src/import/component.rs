//! Component files: the one component of a compiled component file (or a v1 component), and
//! its description, which the KFP SDK keeps out of the spec: in the file's header comment
//! (`# Description:`) and in a Python component's docstring.

use super::{read_file, ImportError, KfpFile};
use crate::document::ComponentDef;
use crate::ir::{ComponentSpec, ExecutorSpec};

/// Reads a KFP component YAML file (what `kfp.compiler.Compiler().compile(component, path)`
/// writes, and what `kfp.components.load_component_from_file` reads).
///
/// The description is `pipelineInfo`'s when it has one; else the one in the file's header
/// comment (`# Description:` and the lines continuing it, as the SDK writes them); else, for a
/// Python component, its function's docstring, as the SDK's loader reads it.
pub fn component_from_yaml(text: &str) -> Result<ComponentDef, ImportError> {
    let mut component = component_from_file(read_file(text)?)?;
    if component.description.as_deref().is_none_or(str::is_empty) {
        component.description =
            header_description(text).or_else(|| docstring_description(&component));
    }
    Ok(component)
}

/// The description in the header comment the KFP SDK heads a YAML file with: the text after
/// `# Description: `, and the lines after it that continue it (`#` and at least 13 spaces; the
/// text from the 16th character on, as the SDK's loader reads them: the SDK writes `#` and 14
/// spaces), joined by line breaks. Only the comment lines the file starts with are read.
fn header_description(text: &str) -> Option<String> {
    const HEADING: &str = "# Description: ";
    const CONTINUATION: &str = "#             ";
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = crate::output::python_splitlines(text)
        .into_iter()
        .take_while(|l| l.starts_with('#'))
        .skip_while(|l| !l.starts_with(HEADING));
    let mut description = lines.next()?[HEADING.len()..].to_string();
    for line in lines.take_while(|l| l.starts_with(CONTINUATION)) {
        description.push('\n');
        description.extend(line.chars().skip(CONTINUATION.len() + 1));
    }
    Some(description).filter(|d| !d.is_empty())
}

/// A Python component's description as the KFP SDK's loader reads it when the file has none
/// elsewhere: the docstring (`ast.get_docstring`, so `inspect.cleandoc`ed) of the first
/// top-level function or class with one in the program the executor runs (the command item
/// that imports kfp). Not found when that program is not plain Python source this reader
/// follows (then it is `None`, never a wrong text), or when only nested functions have one.
fn docstring_description(component: &ComponentDef) -> Option<String> {
    let Some(ExecutorSpec::Container(container)) = &component.executor else {
        return None;
    };
    let program = container
        .command
        .iter()
        .find(|c| c.contains("import kfp"))?;
    python::first_docstring(program).filter(|d| !d.is_empty())
}

/// The component of a file read by [`read_file`] or [`read_documents`](super::read_documents).
pub fn component_from_file(file: KfpFile) -> Result<ComponentDef, ImportError> {
    let spec = match file {
        KfpFile::Spec(f) => f.spec,
        KfpFile::V1Component(c) => return Ok(*c),
        KfpFile::Document(_) => {
            return Err(ImportError::Shape(
                "this is a Pipeline Canvas document, not a component".into(),
            ))
        }
    };
    let root_dag = spec
        .root
        .dag
        .as_ref()
        .ok_or_else(|| ImportError::Invalid("root has no DAG".into()))?;
    if root_dag.tasks.len() != 1 {
        return Err(ImportError::Invalid(format!(
            "a component file has one task in its root DAG; this one has {} (is it a pipeline?)",
            root_dag.tasks.len()
        )));
    }
    let (_, task) = root_dag
        .tasks
        .iter()
        .next()
        .ok_or_else(|| ImportError::Invalid("root DAG has no task".into()))?;
    let comp: &ComponentSpec = spec
        .components
        .get(&task.component_ref.name)
        .ok_or_else(|| {
            ImportError::Invalid(format!(
                "task refers to component {:?}, which is not defined",
                task.component_ref.name
            ))
        })?;
    let label = comp.executor_label.as_deref().ok_or_else(|| {
        ImportError::Invalid(format!(
            "component {:?} has no executor (sub-pipelines are not components)",
            task.component_ref.name
        ))
    })?;
    let executor = spec
        .deployment_spec
        .as_ref()
        .and_then(|d| d.executors.get(label))
        .cloned()
        .ok_or_else(|| {
            ImportError::Invalid(format!("executor {label:?} is not in deploymentSpec"))
        })?;
    Ok(ComponentDef {
        name: spec.pipeline_info.name.clone(),
        title: spec.pipeline_info.display_name.clone(),
        description: spec.pipeline_info.description.clone(),
        input_definitions: comp
            .input_definitions
            .clone()
            .or_else(|| spec.root.input_definitions.clone())
            .unwrap_or_default(),
        output_definitions: comp.output_definitions.clone().unwrap_or_default(),
        executor: Some(executor),
        pipeline: None,
    })
}

/// Just enough of Python's tokenizer to find docstrings: strings, comments, brackets, line
/// continuations and where statements begin.
mod python {
    /// A string literal as written: its prefix letters and its body between the quotes.
    struct Literal<'a> {
        prefix: &'a str,
        body: &'a str,
    }

    /// The source, and where the reader is in it.
    struct Source<'a> {
        text: &'a str,
        at: usize,
    }

    impl<'a> Source<'a> {
        fn rest(&self) -> &'a str {
            &self.text[self.at..]
        }

        fn peek(&self) -> Option<char> {
            self.rest().chars().next()
        }

        /// Skips spaces, tabs and form feeds, and a backslash continuing the line.
        fn skip_blanks(&mut self) {
            loop {
                let rest = self.rest();
                if rest.starts_with([' ', '\t', '\u{c}']) {
                    self.at += 1;
                } else if rest.starts_with("\\\n") {
                    self.at += 2;
                } else {
                    return;
                }
            }
        }

        /// Skips a comment to the end of its line (not the line break).
        fn skip_comment(&mut self) {
            if self.rest().starts_with('#') {
                self.at += self.rest().find('\n').unwrap_or(self.rest().len());
            }
        }

        /// Reads a string literal starting here (prefix letters, then quotes), if one does.
        fn literal(&mut self) -> Option<Literal<'a>> {
            let rest = self.rest();
            let letters = rest.bytes().take_while(|b| b"rRbBuUfF".contains(b)).count();
            let prefix = &rest[..letters];
            if letters > 2 {
                return None;
            }
            let after = &rest[letters..];
            let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let triple: String = std::iter::repeat_n(quote, 3).collect();
            let (open, close) = if after.starts_with(&triple) {
                (3, triple.as_str())
            } else {
                (1, &after[..1])
            };
            let body_start = letters + open;
            let mut i = body_start;
            let bytes = rest.as_bytes();
            loop {
                let tail = rest.get(i..)?;
                if tail.starts_with(close) {
                    break;
                }
                match bytes.get(i)? {
                    // An escaped character (raw strings too keep the quote in the string).
                    b'\\' => i += 1 + rest.get(i + 1..)?.chars().next()?.len_utf8(),
                    b'\n' if open == 1 => return None,
                    _ => i += tail.chars().next()?.len_utf8(),
                }
            }
            let body = &rest[body_start..i];
            self.at += i + close.len();
            Some(Literal { prefix, body })
        }
    }

    /// The docstring of the first top-level `def` or `class` of `program` that has one, as
    /// `ast.get_docstring` returns it (cleaned).
    pub(super) fn first_docstring(program: &str) -> Option<String> {
        let text = crate::authoring::universal_newlines(program);
        let mut src = Source { text: &text, at: 0 };
        // The module's own docstring comes first.
        if let Docstring::Found(doc) = first_statement_docstring(&mut src)? {
            return Some(doc);
        }
        src.at = 0;
        let mut depth = 0usize;
        let mut line_start = true;
        while src.at < text.len() {
            if line_start && depth == 0 {
                line_start = false;
                let rest = src.rest();
                let keyword = ["def", "class", "async"]
                    .into_iter()
                    .find(|k| rest.starts_with(k) && rest[k.len()..].starts_with([' ', '\t']));
                if keyword.is_some() {
                    match definition_docstring(&mut src)? {
                        Docstring::Found(doc) => return Some(doc),
                        Docstring::None => continue,
                    }
                }
            }
            let Some(c) = src.peek() else { break };
            match c {
                '#' => src.skip_comment(),
                '\\' if src.rest().starts_with("\\\n") => src.at += 2,
                '\n' => {
                    src.at += 1;
                    line_start = depth == 0;
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    src.at += 1;
                }
                ')' | ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    src.at += 1;
                }
                '"' | '\'' => {
                    src.literal()?;
                }
                c if c.is_alphanumeric() || c == '_' => {
                    // A name (or a string's prefix letters).
                    if src.literal().is_none() {
                        let n = src
                            .rest()
                            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .unwrap_or(src.rest().len());
                        src.at += n;
                    }
                }
                c => src.at += c.len_utf8(),
            }
        }
        None
    }

    enum Docstring {
        Found(String),
        None,
    }

    /// Reads a `def`/`class` statement from its keyword to the first statement of its body:
    /// its docstring ([`first_statement_docstring`]). Leaves the reader after the header's `:`
    /// when there is none. `None` when the source is not what this reader follows.
    fn definition_docstring(src: &mut Source) -> Option<Docstring> {
        // The header: up to its `:` outside brackets.
        let mut depth = 0usize;
        loop {
            let c = src.peek()?;
            match c {
                '#' => src.skip_comment(),
                '\\' if src.rest().starts_with("\\\n") => src.at += 2,
                '\n' if depth == 0 => return None,
                '(' | '[' | '{' => {
                    depth += 1;
                    src.at += 1;
                }
                ')' | ']' | '}' => {
                    depth = depth.checked_sub(1)?;
                    src.at += 1;
                }
                ':' if depth == 0 => {
                    src.at += 1;
                    break;
                }
                '"' | '\'' => {
                    src.literal()?;
                }
                c if c.is_alphanumeric() || c == '_' => {
                    if src.literal().is_none() {
                        let n = src
                            .rest()
                            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .unwrap_or(src.rest().len());
                        src.at += n;
                    }
                }
                c => src.at += c.len_utf8(),
            }
        }
        first_statement_docstring(src)
    }

    /// The docstring a body (or the module) starting here has: its first statement (on this
    /// line, or the first line after it that is not blank or a comment) when that is a lone
    /// `str` literal, cleaned as `ast.get_docstring` does, and not empty. With none, the
    /// reader is left where it was. `None` when the source is not what this reader follows.
    fn first_statement_docstring(src: &mut Source) -> Option<Docstring> {
        let body = src.at;
        loop {
            src.skip_blanks();
            src.skip_comment();
            if src.rest().starts_with('\n') {
                src.at += 1;
            } else {
                break;
            }
        }
        let none = |src: &mut Source| {
            src.at = body;
            Some(Docstring::None)
        };
        let Some(literal) = src.literal() else {
            return none(src);
        };
        // A lone literal: the statement ends after it (implicit concatenation and expressions
        // such as `"a".join(x)` are left to Python).
        src.skip_blanks();
        src.skip_comment();
        if !(src.rest().is_empty() || src.rest().starts_with(['\n', ';'])) {
            return None;
        }
        let prefix = literal.prefix.to_ascii_lowercase();
        if prefix.contains(['b', 'f']) {
            // Not a str: no docstring here.
            return none(src);
        }
        let value = if prefix.contains('r') {
            literal.body.to_string()
        } else {
            unescape(literal.body)?
        };
        let doc = crate::authoring::cleandoc(&value);
        if doc.is_empty() {
            return none(src);
        }
        Some(Docstring::Found(doc))
    }

    /// A string literal's body with its escapes read, as Python reads a `str` literal; `None`
    /// for a named escape (`\N{…}`), which needs the Unicode names.
    fn unescape(body: &str) -> Option<String> {
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = chars.next() else {
                out.push('\\');
                break;
            };
            let hex = |chars: &mut std::iter::Peekable<std::str::Chars>, n: usize| {
                let digits: String = (0..n).filter_map(|_| chars.next()).collect();
                (digits.len() == n && digits.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(&digits, 16).ok())
                    .flatten()
                    .and_then(char::from_u32)
            };
            match e {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(e),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\u{b}'),
                '0'..='7' => {
                    let mut n = e.to_digit(8)?;
                    for _ in 0..2 {
                        match chars.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                n = n * 8 + d;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(n)?);
                }
                'x' => out.push(hex(&mut chars, 2)?),
                'u' => out.push(hex(&mut chars, 4)?),
                'U' => out.push(hex(&mut chars, 8)?),
                'N' => return None,
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::python::first_docstring;
    use super::*;

    const BODY: &str = "components:\n  comp-f:\n    executorLabel: exec-f\ndeploymentSpec:\n  executors:\n    exec-f:\n      container:\n        image: alpine\nroot:\n  dag:\n    tasks:\n      f:\n        componentRef:\n          name: comp-f\n        taskInfo:\n          name: f\npipelineInfo:\n  name: f\nschemaVersion: 2.1.0\nsdkVersion: kfp-2.17.3\n";

    #[test]
    fn the_description_comes_from_the_header_comment() {
        let text = format!(
            "# PIPELINE DEFINITION\n# Name: f\n# Description: First line.\n#              \n#                indented\n#              last\n# Inputs:\n#    a: int\n{BODY}"
        );
        assert_eq!(
            header_description(&text).as_deref(),
            Some("First line.\n\n  indented\nlast")
        );
        let c = component_from_yaml(&text).expect("component");
        assert_eq!(
            c.description.as_deref(),
            Some("First line.\n\n  indented\nlast")
        );
        // One line; CRLF; none at all; not in the leading comments.
        assert_eq!(
            header_description(
                "# PIPELINE DEFINITION\r\n# Name: f\r\n# Description: One.\r\n# Inputs:\r\n"
            )
            .as_deref(),
            Some("One.")
        );
        assert_eq!(
            header_description(&format!("# PIPELINE DEFINITION\n# Name: f\n{BODY}")),
            None
        );
        assert_eq!(
            header_description(&format!("{BODY}# Description: late\n")),
            None
        );
        // pipelineInfo's description comes first.
        let text = format!("# Description: header\n{BODY}").replace(
            "pipelineInfo:\n  name: f",
            "pipelineInfo:\n  description: spec\n  name: f",
        );
        assert_eq!(
            component_from_yaml(&text)
                .expect("component")
                .description
                .as_deref(),
            Some("spec")
        );
    }

    #[test]
    fn written_headers_read_back() {
        let spec = crate::import::read_file(BODY).expect("file");
        let KfpFile::Spec(file) = spec else {
            panic!("a spec")
        };
        for d in ["One.", "Two\nlines", "A.\n\nB\n   C\nD", "ünï\tcode"] {
            let text = crate::output::to_yaml_described(&file.spec, Some(d));
            let c = component_from_yaml(&text).expect("component");
            assert_eq!(c.description.as_deref(), Some(d), "{text}");
        }
    }

    #[test]
    fn a_python_component_without_a_header_has_its_docstring() {
        let program = |source: &str| {
            format!("\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n{source}\n")
        };
        for (source, doc) in [
            ("def f(a: int):\n    \"\"\"Adds.\n\n    More.\n    \"\"\"\n    return a\n", Some("Adds.\n\nMore.")),
            ("def f():\n    'one'\n", Some("one")),
            ("def f(): \"same line\"\n", Some("same line")),
            ("def f(\n    a: str = \"x):\",\n    b: dict = {\"k\": 1},\n) -> NamedTuple(\"O\", [(\"a\", int)]):\n    # comment\n\n    r'''raw \\n'''\n", Some("raw \\n")),
            ("def f():\n    \"\"\"tab\\there \\\"q\\\" \\x41\\u00e9 back\\\\slash\\\n joined\"\"\"\n", Some("tab     here \"q\" Aé back\\slash joined")),
            ("async def f():\n    \"async\"\n", Some("async")),
            ("def f():\n    pass\n\n\nclass C:\n    \"\"\"The class.\"\"\"\n", Some("The class.")),
            ("x = '''\ndef g():\n    \"not a def\"\n'''\ndef f():\n    \"real\"\n", Some("real")),
            ("def f():\n    return 1\n", None),
            ("def f():\n    b\"bytes\"\n", None),
            ("def f():\n    f\"fmt\"\n", None),
            // As Python cleans it: a line of spaces is kept, nothing is no docstring.
            ("def f():\n    \"\"\"\n    \"\"\"\n", Some("    ")),
            ("def f():\n    \"\"\"\"\"\"\n    \"next\"\n", None),
            // Left to Python: an expression, a named escape, concatenation.
            ("def f():\n    \"a\".upper()\n", None),
            ("def f():\n    \"\\N{BULLET}\"\n", None),
            ("def f():\n    \"a\" \"b\"\n", None),
            // Nested functions only: the SDK would find it, this reader does not.
            ("def f():\n    def g():\n        \"nested\"\n", None),
        ] {
            assert_eq!(first_docstring(&program(source)).as_deref(), doc, "{source}");
        }
        // A module docstring comes first.
        assert_eq!(
            first_docstring("\"\"\"Module.\"\"\"\nimport kfp\ndef f():\n    \"fn\"\n").as_deref(),
            Some("Module.")
        );
        // Through the component: the command item that imports kfp.
        let with_program = BODY.replace(
            "        image: alpine\n",
            "        command:\n        - sh\n        - \"\\nimport kfp\\n\\ndef f():\\n    \\\"\\\"\\\"Doc\\n    string.\\\"\\\"\\\"\\n\"\n        image: alpine\n",
        );
        let c = component_from_yaml(&with_program).expect("component");
        assert_eq!(c.description.as_deref(), Some("Doc\nstring."));
        assert_eq!(
            component_from_yaml(BODY).expect("component").description,
            None
        );
    }
}
