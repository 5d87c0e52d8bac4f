//! Naming rules shared by the document, the validator and the compiler.

/// Turns any text into a KFP-style name the way the KFP SDK does: lowercase, runs of characters
/// other than `a-z`, `0-9` and `-` become one `-`, no leading or trailing `-`.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            if c == '-' {
                if !dash && !out.is_empty() {
                    out.push('-');
                }
                dash = true;
            } else {
                out.push(c);
                dash = false;
            }
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Whether `name` is a valid task or pipeline name: `[a-z0-9]` at both ends, `[a-z0-9-]` between,
/// at most 128 characters.
pub fn is_valid_task_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Whether `name` is a valid parameter or port name (a Python identifier).
pub fn is_valid_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `word` with "a" or "an" before it, for messages: `an int`, `a float`.
pub fn with_article(word: &str) -> String {
    let vowel = word
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}

/// The name of the channel that carries a pipeline parameter into a sub-DAG.
pub fn param_channel(param: &str) -> String {
    format!("pipelinechannel--{param}")
}

/// The name of the channel that carries a task output into a sub-DAG.
pub fn output_channel(task: &str, output: &str) -> String {
    format!("pipelinechannel--{task}-{output}")
}

/// The `parameterExpressionSelector` KFP writes to pick field `field` of a dict loop item.
pub fn field_selector(field: &str) -> String {
    format!("parseJson(string_value)[\"{field}\"]")
}

/// The field a [`field_selector`] picks, if `selector` is one.
pub fn selector_field(selector: &str) -> Option<&str> {
    selector
        .strip_prefix("parseJson(string_value)[\"")?
        .strip_suffix("\"]")
}

/// The inputs KFP adds to a task whose resources or image are set from a value (its "string
/// machine fields": `task.set_cpu_limit(param)`, …): each holds the placeholder
/// (`{{$.inputs.parameters['pipelinechannel--cpu']}}`) that the executor's resources read, the
/// value itself coming in through the `pipelinechannel--…` input beside it. A task may have them
/// whatever its component declares.
pub const TASK_CONFIG_INPUTS: [&str; 7] = [
    "accelerator_count",
    "accelerator_type",
    "base_image",
    "cpu_limit",
    "cpu_request",
    "memory_limit",
    "memory_request",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_kfp() {
        for (input, want) in [
            ("build_custom_train_image", "build-custom-train-image"),
            ("My Pipeline!", "my-pipeline"),
            ("__a__b__", "a-b"),
            ("a--b", "a-b"),
            ("Add Numbers 2", "add-numbers-2"),
        ] {
            assert_eq!(sanitize(input), want, "{input}");
        }
    }

    #[test]
    fn checks_names() {
        assert!(is_valid_task_name("get-training-job-details"));
        assert!(!is_valid_task_name("Get"));
        assert!(!is_valid_task_name("-a"));
        assert!(!is_valid_task_name(""));
        assert!(is_valid_identifier("eval_acc_threshold"));
        assert!(!is_valid_identifier("1abc"));
        assert!(!is_valid_identifier("a-b"));
    }
}
