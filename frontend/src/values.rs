//! Text ↔ JSON value conversion for the typed fields of the properties and pipeline panels.

use pipeline::ir::ParameterType;
use serde_json::Value;

/// Parses what a user typed into a field of type `ty` by the core's rules
/// ([`ParameterType::parse_text`]). Empty text means "not set" (`Ok(None)`); Err says what is
/// wrong in words for the field's error line.
pub fn parse_value(ty: ParameterType, text: &str) -> Result<Option<Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    ty.parse_text(text).map(Some).map_err(|e| e.to_string())
}

/// The text shown in a field for a stored value.
pub fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => {
            serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
        }
        other => other.to_string(),
    }
}

/// Whether a field's text stands for the stored value (so an outside change must refresh it).
pub fn text_matches(ty: ParameterType, text: &str, stored: Option<&Value>) -> bool {
    match parse_value(ty, text) {
        Ok(v) => v.as_ref() == stored || numbers_equal(v.as_ref(), stored),
        Err(_) => false,
    }
}

fn numbers_equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.and_then(Value::as_f64), b.and_then(Value::as_f64)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// The placeholder of a field: its default, or a hint of the expected input.
pub fn placeholder(ty: ParameterType, default: Option<&Value>) -> String {
    match default {
        Some(serde_json::Value::String(s)) if s.is_empty() => "default: \"\" (empty)".to_string(),
        Some(v) => format!("default: {}", render_value(v).replace('\n', " ")),
        None => match ty {
            ParameterType::String => "text".to_string(),
            ParameterType::NumberInteger => "whole number".to_string(),
            ParameterType::NumberDouble => "number".to_string(),
            ParameterType::Boolean => "true / false".to_string(),
            ParameterType::List => "JSON list, e.g. [\"a\", 1]".to_string(),
            ParameterType::Struct => "JSON object, e.g. {\"k\": \"v\"}".to_string(),
            ParameterType::TaskFinalStatus => String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_each_type() {
        use ParameterType::*;
        assert_eq!(parse_value(String, "abc"), Ok(Some(json!("abc"))));
        assert_eq!(parse_value(NumberInteger, " 42 "), Ok(Some(json!(42))));
        assert!(parse_value(NumberInteger, "4.5")
            .unwrap_err()
            .contains("whole number"));
        assert_eq!(parse_value(NumberDouble, "0.87"), Ok(Some(json!(0.87))));
        assert!(parse_value(NumberDouble, "abc").is_err());
        assert_eq!(parse_value(List, "[1, \"a\"]"), Ok(Some(json!([1, "a"]))));
        assert!(parse_value(List, "{}").unwrap_err().contains("JSON list"));
        assert!(parse_value(Struct, "{oops")
            .unwrap_err()
            .contains("invalid JSON"));
        assert_eq!(parse_value(Struct, "{\"a\": 1}"), Ok(Some(json!({"a": 1}))));
        assert_eq!(parse_value(Boolean, "true"), Ok(Some(json!(true))));
        assert_eq!(parse_value(String, "   "), Ok(None));
    }

    #[test]
    fn text_matches_stored_numbers_loosely() {
        assert!(text_matches(
            ParameterType::NumberDouble,
            "1",
            Some(&json!(1.0))
        ));
        assert!(!text_matches(
            ParameterType::NumberDouble,
            "2",
            Some(&json!(1.0))
        ));
        assert!(text_matches(ParameterType::String, "", None));
    }
}
