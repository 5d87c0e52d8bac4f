//! KFP placeholders in container commands and arguments: `{{$}}` (the executor input),
//! `{{$.inputs.parameters['x']}}`, `{{$.inputs.artifacts['a'].path}}`,
//! `{{$.outputs.parameters['y'].output_file}}`, `{{$.outputs.artifacts['m'].uri}}`, the
//! pipeline/task placeholders, and the structured `{"Concat": …}` / `{"IfPresent": …}` forms.
//!
//! Values are substituted into argument strings as the KFP launcher does, except inside a
//! shell script (`sh -c SCRIPT`): there a placeholder becomes a reference to an environment
//! variable holding the value, so no value is ever parsed by the shell as code.

use std::collections::BTreeMap;

use serde_json::Value;

use super::values::to_arg;

/// The run and task identity behind the pipeline placeholders.
#[derive(Debug, Clone, Default)]
pub struct JobInfo {
    /// `{{$.pipeline_job_name}}`: the pipeline name.
    pub job_name: String,
    /// `{{$.pipeline_job_resource_name}}`: the run's resource name.
    pub job_resource_name: String,
    /// `{{$.pipeline_job_uuid}}`: the run id.
    pub job_id: String,
    /// `{{$.pipeline_task_name}}`: the task's name.
    pub task_name: String,
    /// `{{$.pipeline_task_uuid}}`: a unique id of the task in the run.
    pub task_id: String,
    /// `{{$.pipeline_root}}`.
    pub pipeline_root: String,
    /// `{{$.pipeline_job_create_time_utc}}` and the schedule time.
    pub create_time: String,
    /// `{{$.workspace_path}}`: the run's shared workspace folder.
    pub workspace: String,
}

/// Where placeholder values come from: the executor input (`{{$}}`) and the job.
pub struct Context<'a> {
    /// The executor input JSON.
    pub executor_input: &'a Value,
    /// The run and task.
    pub job: &'a JobInfo,
}

/// The KFP constant placeholders and their values.
fn constant(name: &str, job: &JobInfo) -> Option<String> {
    Some(match name {
        "pipeline_job_name" => job.job_name.clone(),
        "pipeline_job_resource_name" => job.job_resource_name.clone(),
        "pipeline_job_uuid" => job.job_id.clone(),
        "pipeline_task_name" => job.task_name.clone(),
        "pipeline_task_uuid" => job.task_id.clone(),
        "pipeline_root" => job.pipeline_root.clone(),
        "pipeline_job_create_time_utc" | "pipeline_job_schedule_time_utc" => {
            job.create_time.clone()
        }
        "workspace_path" => job.workspace.clone(),
        _ => return None,
    })
}

/// Splits `parameters['x'].rest` into (`parameters`, `x`, `rest`).
fn keyed(s: &str) -> Option<(&str, &str, &str)> {
    let open = s.find('[')?;
    let kind = &s[..open];
    let after = &s[open + 1..];
    let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &after[1..];
    let end = body.find(quote)?;
    let key = &body[..end];
    let rest = body[end + 1..].strip_prefix(']')?;
    Some((kind, key, rest.strip_prefix('.').unwrap_or(rest)))
}

impl Context<'_> {
    fn input_parameter(&self, name: &str) -> Option<&Value> {
        self.executor_input["inputs"]["parameterValues"].get(name)
    }

    fn artifact(&self, side: &str, name: &str) -> Option<&Value> {
        self.executor_input[side]["artifacts"]
            .get(name)?
            .get("artifacts")?
            .get(0)
    }

    /// The value of one placeholder body (what is between `{{` and `}}`), or an error naming it.
    pub fn value(&self, body: &str) -> Result<String, String> {
        let body = body.trim();
        if body == "$" {
            return Ok(self.executor_input.to_string());
        }
        let Some(path) = body.strip_prefix("$.") else {
            return Err(format!("unknown placeholder {{{{{body}}}}}"));
        };
        if let Some(v) = constant(path, self.job) {
            return Ok(v);
        }
        match path {
            "outputs.output_file" | "outputMetadataUri" => {
                return Ok(self.executor_input["outputs"]["outputFile"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string())
            }
            _ => {}
        }
        let unknown = || format!("unknown placeholder {{{{{body}}}}}");
        let (side, rest) = path.split_once('.').ok_or_else(unknown)?;
        let (kind, key, field) = keyed(rest).ok_or_else(unknown)?;
        match (side, kind, field) {
            ("inputs", "parameters", "") => self
                .input_parameter(key)
                .filter(|v| !v.is_null())
                .map(to_arg)
                .ok_or_else(|| format!("input parameter {key:?} has no value")),
            ("inputs", "artifacts", f) | ("outputs", "artifacts", f) => {
                let a = self
                    .artifact(side, key)
                    .ok_or_else(|| format!("{side} artifact {key:?} is not available"))?;
                match f {
                    "path" | "uri" => Ok(a["uri"].as_str().unwrap_or_default().to_string()),
                    "metadata" => Ok(a["metadata"].to_string()),
                    other => match keyed(other) {
                        Some(("metadata", k, "")) => Ok(to_arg(&a["metadata"][k])),
                        _ => Err(unknown()),
                    },
                }
            }
            ("outputs", "parameters", "output_file") => self.executor_input["outputs"]
                ["parameters"][key]["outputFile"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("output parameter {key:?} is not declared")),
            _ => Err(unknown()),
        }
    }

    /// Whether input `name` (parameter or artifact) has a value, for `IfPresent`.
    fn present(&self, name: &str) -> bool {
        self.input_parameter(name).is_some_and(|v| !v.is_null())
            || self.executor_input["inputs"]["artifacts"]
                .get(name)
                .is_some()
    }

    /// Replaces every `{{…}}` in `s` with `sub(body)`.
    fn substitute(
        &self,
        s: &str,
        sub: &mut dyn FnMut(&str, usize) -> Result<String, String>,
    ) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("{{$") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            out.push_str(&sub(&after[..end], out.len())?);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `s` with every placeholder replaced by its value.
    pub fn resolve_str(&self, s: &str) -> Result<String, String> {
        self.substitute(s, &mut |body, _| self.value(body))
    }

    fn structured(&self, v: &Value, out: &mut Vec<Option<String>>) -> Result<(), String> {
        match v {
            Value::String(s) => out.push(Some(self.resolve_str(s)?)),
            Value::Array(items) => {
                for item in items {
                    self.structured(item, out)?;
                }
            }
            Value::Object(o) => {
                if let Some(parts) = o.get("Concat") {
                    let mut pieces = Vec::new();
                    self.structured(parts, &mut pieces)?;
                    out.push(Some(pieces.into_iter().flatten().collect()));
                } else if let Some(p) = o.get("IfPresent") {
                    let name = p["InputName"]
                        .as_str()
                        .ok_or("IfPresent without InputName")?;
                    let branch = if self.present(name) {
                        p.get("Then")
                    } else {
                        p.get("Else")
                    };
                    if let Some(b) = branch {
                        self.structured(b, out)?;
                    }
                } else {
                    return Err(format!("unknown structured placeholder {v}"));
                }
            }
            Value::Null => out.push(None),
            other => out.push(Some(to_arg(other))),
        }
        Ok(())
    }

    /// Resolves a command line: structured placeholders expand to zero or more arguments,
    /// every other placeholder is substituted in place.
    pub fn resolve_args(&self, items: &[String]) -> Result<Vec<String>, String> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let t = item.trim_start();
            if t.starts_with("{\"Concat\"") || t.starts_with("{\"IfPresent\"") {
                let v: Value = serde_json::from_str(item)
                    .map_err(|e| format!("bad structured placeholder {item}: {e}"))?;
                let mut parts = Vec::new();
                self.structured(&v, &mut parts)?;
                out.extend(parts.into_iter().flatten());
            } else {
                out.push(self.resolve_str(item)?);
            }
        }
        Ok(out)
    }

    /// Like [`Context::resolve_args`], but a shell script argument (the one after `-c` when
    /// the program is a shell) gets references to environment variables instead of values;
    /// the variables are returned to be set for the process.
    pub fn resolve_command(
        &self,
        items: &[String],
    ) -> Result<(Vec<String>, BTreeMap<String, String>), String> {
        let mut vars = BTreeMap::new();
        let is_shell = items.first().is_some_and(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            matches!(
                name,
                "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" | "busybox"
            )
        });
        let script_at = if is_shell {
            items.iter().enumerate().skip(1).find_map(|(i, a)| {
                (a.starts_with('-') && !a.starts_with("--") && a.contains('c')).then_some(i + 1)
            })
        } else {
            None
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if Some(i) == script_at && item.contains("{{$") {
                out.push(self.shell_script(item, &mut vars)?);
            } else {
                out.extend(self.resolve_args(std::slice::from_ref(item))?);
            }
        }
        Ok((out, vars))
    }

    fn shell_script(
        &self,
        script: &str,
        vars: &mut BTreeMap<String, String>,
    ) -> Result<String, String> {
        #[derive(Clone, Copy, PartialEq)]
        enum Q {
            None,
            Single,
            Double,
        }
        let mut out = String::with_capacity(script.len());
        let mut q = Q::None;
        let mut rest = script;
        while !rest.is_empty() {
            if rest.starts_with("{{$") {
                if let Some(end) = rest.find("}}") {
                    let value = self.value(&rest[2..end])?;
                    let name = format!("KFP_PLACEHOLDER_{}", vars.len() + 1);
                    out.push_str(&match q {
                        Q::Single => format!("'\"${{{name}}}\"'"),
                        Q::Double => format!("${{{name}}}"),
                        Q::None => format!("\"${{{name}}}\""),
                    });
                    vars.insert(name, value);
                    rest = &rest[end + 2..];
                    continue;
                }
            }
            let mut chars = rest.chars();
            let Some(c) = chars.next() else { break };
            out.push(c);
            match (q, c) {
                (Q::None, '\'') => q = Q::Single,
                (Q::Single, '\'') => q = Q::None,
                (Q::None, '"') => q = Q::Double,
                (Q::Double, '"') => q = Q::None,
                (Q::None | Q::Double, '\\') => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                _ => {}
            }
            rest = chars.as_str();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input() -> Value {
        json!({
            "inputs": {
                "parameterValues": {"text": "a b", "n": 3, "flag": true, "none": null},
                "artifacts": {"data": {"artifacts": [{"name": "data", "uri": "/r/x/data", "metadata": {"k": 1}}]}}
            },
            "outputs": {
                "parameters": {"sum": {"outputFile": "/r/t/parameters/sum"}},
                "artifacts": {"model": {"artifacts": [{"name": "model", "uri": "/r/t/artifacts/model"}]}},
                "outputFile": "/r/t/executor_output.json"
            }
        })
    }

    fn job() -> JobInfo {
        JobInfo {
            job_name: "p".into(),
            task_name: "t".into(),
            workspace: "/r/ws".into(),
            ..JobInfo::default()
        }
    }

    #[test]
    fn simple_placeholders_resolve() {
        let ei = input();
        let j = job();
        let c = Context {
            executor_input: &ei,
            job: &j,
        };
        let args: Vec<String> = [
            "--text={{$.inputs.parameters['text']}}",
            "{{$.inputs.parameters['n']}}",
            "{{$.inputs.artifacts['data'].path}}",
            "{{$.outputs.parameters['sum'].output_file}}",
            "{{$.outputs.artifacts['model'].uri}}",
            "{{$.pipeline_task_name}}@{{$.workspace_path}}",
            "{{$.inputs.artifacts['data'].metadata['k']}}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            c.resolve_args(&args).expect("resolves"),
            [
                "--text=a b",
                "3",
                "/r/x/data",
                "/r/t/parameters/sum",
                "/r/t/artifacts/model",
                "t@/r/ws",
                "1"
            ]
        );
        let all = c.resolve_str("{{$}}").expect("executor input");
        assert_eq!(serde_json::from_str::<Value>(&all).expect("json"), ei);
        assert!(c.resolve_str("{{$.nope}}").is_err());
        assert!(c.resolve_str("{{$.inputs.parameters['none']}}").is_err());
    }

    #[test]
    fn structured_placeholders_expand() {
        let ei = input();
        let j = job();
        let c = Context {
            executor_input: &ei,
            job: &j,
        };
        let args = vec![
            r#"{"IfPresent": {"InputName": "text", "Then": ["--t", "{{$.inputs.parameters['text']}}"]}}"#.to_string(),
            r#"{"IfPresent": {"InputName": "none", "Then": ["--x"], "Else": "--no-x"}}"#.to_string(),
            r#"{"IfPresent": {"InputName": "missing", "Then": ["--m"]}}"#.to_string(),
            r#"{"Concat": ["n=", "{{$.inputs.parameters['n']}}", "!"]}"#.to_string(),
        ];
        assert_eq!(
            c.resolve_args(&args).expect("resolves"),
            ["--t", "a b", "--no-x", "n=3!"]
        );
    }

    #[test]
    fn shell_scripts_get_variables_not_values() {
        let ei = json!({"inputs": {"parameterValues": {"x": "$(touch /tmp/pwned)'\"; echo"}}});
        let j = job();
        let c = Context {
            executor_input: &ei,
            job: &j,
        };
        let cmd: Vec<String> = vec![
            "sh".into(),
            "-ec".into(),
            "echo {{$.inputs.parameters['x']}} '{{$.inputs.parameters['x']}}' \"{{$.inputs.parameters['x']}}\"".into(),
            "{{$.inputs.parameters['x']}}".into(),
        ];
        let (argv, vars) = c.resolve_command(&cmd).expect("resolves");
        assert_eq!(
            argv[2],
            "echo \"${KFP_PLACEHOLDER_1}\" ''\"${KFP_PLACEHOLDER_2}\"'' \"${KFP_PLACEHOLDER_3}\""
        );
        assert_eq!(argv[3], "$(touch /tmp/pwned)'\"; echo");
        assert_eq!(vars.len(), 3);
        assert!(vars.values().all(|v| v == "$(touch /tmp/pwned)'\"; echo"));
    }
}
