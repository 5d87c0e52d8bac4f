//! Parameter values typed as text (a field of the canvas, `--param NAME=VALUE` on the command
//! line) read by one set of rules: [`ParameterType::parse_text`].
//!
//! Strings are taken as written. Everything else is read from the text without its surrounding
//! whitespace: booleans are `true` or `false` in any case; integers are whole numbers within 64
//! bits, written without a decimal point; floats are finite numbers; lists and dicts are JSON.
//! An error names the type and shows a value that would do.

use serde_json::Value;

use crate::ir::ParameterType;

/// At most this many bytes of the text (whole characters) are quoted in an error message;
/// longer texts are cut.
const QUOTED_BYTES: usize = 40;

/// Why a text is not a value of a parameter type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTextError {
    /// The type the text was read as.
    pub ty: ParameterType,
    /// The text as typed, without the whitespace around it (the message quotes at most its first
    /// 40 bytes).
    pub text: String,
    /// What is wrong with it.
    pub problem: ParamTextProblem,
}

/// What is wrong with a parameter value's text (see [`ParamTextError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamTextProblem {
    /// Not a value of the type at all (`yes` for a bool, `abc` for a number).
    Unreadable,
    /// A number with a fraction, for an int (`1.5`).
    NotWhole,
    /// A whole number written as a float, for an int (`3.0`, `1e3`).
    DecimalPoint,
    /// A whole number beyond the 64 bits of an int.
    OutOfRange,
    /// Infinite or not a number, for a float (`inf`, `NaN`, `1e400`).
    NotFinite,
    /// Not JSON, for a list or a dict: where the JSON goes wrong (1-based line and column of
    /// the text as typed), and whether it is because the text ends too early.
    Json {
        /// The line.
        line: usize,
        /// The column (serde_json's count, which is in bytes).
        column: usize,
        /// Whether the text ends before the JSON does.
        eof: bool,
    },
    /// JSON of another kind (a list for a dict, a number for a list): the kind it is.
    WrongKind(&'static str),
    /// A task's final status, which KFP fills in and no one types.
    NotTyped,
}

impl std::fmt::Display for ParamTextError {
    // Written piece by piece rather than with `write!`: this runs in the browser's start chunk,
    // where every byte of formatting code counts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::{Debug, Display};
        let (name, example) = match self.ty {
            ParameterType::NumberInteger => (" is not an int: ", "a whole number such as 42"),
            ParameterType::NumberDouble => (" is not a float: ", "a number such as 0.5 or 1e-3"),
            ParameterType::Boolean => (" is not a bool: ", "true or false"),
            ParameterType::List => (" is not a list: ", "a JSON list like [1, 2]"),
            ParameterType::Struct => (
                " is not a dict: ",
                "a JSON object like {\"key\": \"value\"}",
            ),
            ParameterType::String => (" is not a str: ", "a value"),
            ParameterType::TaskFinalStatus => {
                return f.write_str(
                    "a PipelineTaskFinalStatus is filled in by KFP when the task runs; it \
                     cannot be given as a value",
                )
            }
        };
        // The first bytes of the text, cut at a character boundary (0 always is one).
        let mut end = self.text.len().min(QUOTED_BYTES);
        while !self.text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        Debug::fmt(self.text.get(..end).unwrap_or_default(), f)?;
        if end < self.text.len() {
            f.write_str("…")?;
        }
        f.write_str(name)?;
        f.write_str(match &self.problem {
            ParamTextProblem::NotWhole => "it is not a whole number; write ",
            ParamTextProblem::DecimalPoint => "write it without a decimal point or exponent, as ",
            ParamTextProblem::OutOfRange => {
                "it is outside -9223372036854775808 to 9223372036854775807; write "
            }
            ParamTextProblem::NotFinite => "it is not a finite number; write ",
            ParamTextProblem::Json { .. } | ParamTextProblem::WrongKind(_) => "expected ",
            ParamTextProblem::Unreadable | ParamTextProblem::NotTyped => "write ",
        })?;
        f.write_str(example)?;
        match &self.problem {
            ParamTextProblem::Json { line, column, eof } => {
                if *line > 1 {
                    f.write_str(" (invalid JSON at line ")?;
                    Display::fmt(line, f)?;
                    f.write_str(", column ")?;
                } else {
                    f.write_str(" (invalid JSON at character ")?;
                }
                Display::fmt(column, f)?;
                f.write_str(if *eof {
                    ": the text ends too early)"
                } else {
                    ")"
                })
            }
            ParamTextProblem::WrongKind(kind) => {
                f.write_str(", not ")?;
                f.write_str(kind)
            }
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ParamTextError {}

/// The kind of a JSON value, as errors name it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl ParameterType {
    /// Reads a value of this type from text a user typed, by the rules of [`crate::param_text`]:
    /// strings as written; booleans `true`/`false` in any case; integers whole and within 64
    /// bits; floats finite; lists and dicts as JSON. Empty text is an empty string for a string
    /// and an error for the other types (a field that may stay empty checks that first).
    pub fn parse_text(self, text: &str) -> Result<Value, ParamTextError> {
        let t = text.trim();
        let fail = |problem| ParamTextError {
            ty: self,
            text: t.to_string(),
            problem,
        };
        match self {
            ParameterType::String => Ok(Value::String(text.to_string())),
            ParameterType::Boolean if t.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            ParameterType::Boolean if t.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            ParameterType::Boolean => Err(fail(ParamTextProblem::Unreadable)),
            ParameterType::NumberInteger => parse_integer(t).map_err(fail),
            ParameterType::NumberDouble => match t.parse::<f64>() {
                Ok(f) => serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| fail(ParamTextProblem::NotFinite)),
                Err(_) => Err(fail(ParamTextProblem::Unreadable)),
            },
            ParameterType::List | ParameterType::Struct => {
                // The whole text, so that positions are the user's.
                let value: Value = serde_json::from_str(text).map_err(|e| {
                    fail(ParamTextProblem::Json {
                        line: e.line(),
                        column: e.column(),
                        eof: e.is_eof(),
                    })
                })?;
                match (self, &value) {
                    (ParameterType::List, Value::Array(_))
                    | (ParameterType::Struct, Value::Object(_)) => Ok(value),
                    _ => Err(fail(ParamTextProblem::WrongKind(kind(&value)))),
                }
            }
            ParameterType::TaskFinalStatus => Err(fail(ParamTextProblem::NotTyped)),
        }
    }
}

/// An integer: `42`, `-7`, `+3`; anything else says why it is not one.
fn parse_integer(t: &str) -> Result<Value, ParamTextProblem> {
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Value::from(i));
    }
    let digits = match t.as_bytes() {
        [b'-' | b'+', rest @ ..] => rest,
        all => all,
    };
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        // Only digits, yet not an i64: too many of them.
        return Err(ParamTextProblem::OutOfRange);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() != 0.0 => Err(ParamTextProblem::NotWhole),
        // From -2^63 (an i64) to 2^63 (the first whole number beyond one), both exact as f64.
        Ok(f) if f.is_finite() && !(i64::MIN as f64..i64::MAX as f64).contains(&f) => {
            Err(ParamTextProblem::OutOfRange)
        }
        Ok(f) if f.is_finite() => Err(ParamTextProblem::DecimalPoint),
        _ => Err(ParamTextProblem::Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ParameterType::*;

    /// Each text read as each type: the value, or the whole error message.
    #[test]
    fn texts_read_by_one_set_of_rules() {
        let cases: &[(ParameterType, &str, Result<Value, &str>)] = &[
            // Strings are taken as written, whitespace and all.
            (String, "abc", Ok(json!("abc"))),
            (String, " a b ", Ok(json!(" a b "))),
            (String, "", Ok(json!(""))),
            (String, "42", Ok(json!("42"))),
            // Booleans in any case, around whitespace.
            (Boolean, "true", Ok(json!(true))),
            (Boolean, "True", Ok(json!(true))),
            (Boolean, "TRUE", Ok(json!(true))),
            (Boolean, " false ", Ok(json!(false))),
            (Boolean, "False", Ok(json!(false))),
            (Boolean, "yes", Err("\"yes\" is not a bool: write true or false")),
            (Boolean, "1", Err("\"1\" is not a bool: write true or false")),
            (Boolean, "it's", Err("\"it's\" is not a bool: write true or false")),
            (Boolean, "", Err("\"\" is not a bool: write true or false")),
            // Integers: whole, within 64 bits, without a decimal point.
            (NumberInteger, "42", Ok(json!(42))),
            (NumberInteger, " -7 ", Ok(json!(-7))),
            (NumberInteger, "+3", Ok(json!(3))),
            (NumberInteger, "9223372036854775807", Ok(json!(i64::MAX))),
            (NumberInteger, "-9223372036854775808", Ok(json!(i64::MIN))),
            (
                NumberInteger,
                "1.5",
                Err("\"1.5\" is not an int: it is not a whole number; write a whole number such as 42"),
            ),
            (
                NumberInteger,
                "4.5",
                Err("\"4.5\" is not an int: it is not a whole number; write a whole number such as 42"),
            ),
            (
                NumberInteger,
                "99999999999999999999999",
                Err("\"99999999999999999999999\" is not an int: it is outside -9223372036854775808 to 9223372036854775807; write a whole number such as 42"),
            ),
            (
                NumberInteger,
                "9223372036854775808",
                Err("\"9223372036854775808\" is not an int: it is outside -9223372036854775808 to 9223372036854775807; write a whole number such as 42"),
            ),
            (
                NumberInteger,
                "1e30",
                Err("\"1e30\" is not an int: it is outside -9223372036854775808 to 9223372036854775807; write a whole number such as 42"),
            ),
            (
                NumberInteger,
                "3.0",
                Err("\"3.0\" is not an int: write it without a decimal point or exponent, as a whole number such as 42"),
            ),
            (
                NumberInteger,
                "1e3",
                Err("\"1e3\" is not an int: write it without a decimal point or exponent, as a whole number such as 42"),
            ),
            (NumberInteger, "x", Err("\"x\" is not an int: write a whole number such as 42")),
            (NumberInteger, "inf", Err("\"inf\" is not an int: write a whole number such as 42")),
            (NumberInteger, "-", Err("\"-\" is not an int: write a whole number such as 42")),
            (NumberInteger, "", Err("\"\" is not an int: write a whole number such as 42")),
            // Floats: finite.
            (NumberDouble, "0.87", Ok(json!(0.87))),
            (NumberDouble, "1", Ok(json!(1.0))),
            (NumberDouble, " -2.5e-3 ", Ok(json!(-0.0025))),
            (NumberDouble, "abc", Err("\"abc\" is not a float: write a number such as 0.5 or 1e-3")),
            (
                NumberDouble,
                "inf",
                Err("\"inf\" is not a float: it is not a finite number; write a number such as 0.5 or 1e-3"),
            ),
            (
                NumberDouble,
                "NaN",
                Err("\"NaN\" is not a float: it is not a finite number; write a number such as 0.5 or 1e-3"),
            ),
            (
                NumberDouble,
                "1e400",
                Err("\"1e400\" is not a float: it is not a finite number; write a number such as 0.5 or 1e-3"),
            ),
            // Lists and dicts: JSON of their kind.
            (List, "[1, \"a\"]", Ok(json!([1, "a"]))),
            (List, " [] ", Ok(json!([]))),
            (List, "[\n  1,\n  2\n]", Ok(json!([1, 2]))),
            (
                List,
                "{}",
                Err("\"{}\" is not a list: expected a JSON list like [1, 2], not an object"),
            ),
            (
                List,
                "1, 2",
                Err("\"1, 2\" is not a list: expected a JSON list like [1, 2] (invalid JSON at character 2)"),
            ),
            (
                List,
                "[1, 2",
                Err("\"[1, 2\" is not a list: expected a JSON list like [1, 2] (invalid JSON at character 5: the text ends too early)"),
            ),
            (
                List,
                "[\n  1,\n  x\n]",
                Err("\"[\\n  1,\\n  x\\n]\" is not a list: expected a JSON list like [1, 2] (invalid JSON at line 3, column 3)"),
            ),
            (Struct, "{\"a\": 1}", Ok(json!({"a": 1}))),
            (
                Struct,
                "{oops",
                Err("\"{oops\" is not a dict: expected a JSON object like {\"key\": \"value\"} (invalid JSON at character 2)"),
            ),
            (
                Struct,
                "[1]",
                Err("\"[1]\" is not a dict: expected a JSON object like {\"key\": \"value\"}, not a list"),
            ),
            (
                Struct,
                "null",
                Err("\"null\" is not a dict: expected a JSON object like {\"key\": \"value\"}, not null"),
            ),
            // Long texts are cut in the message.
            (
                NumberInteger,
                "0123456789012345678901234567890123456789x",
                Err("\"0123456789012345678901234567890123456789\"… is not an int: write a whole number such as 42"),
            ),
            // … at a character boundary: 20 two-byte characters are 40 bytes, 21 are more.
            (
                Boolean,
                "ééééééééééééééééééééé",
                Err("\"éééééééééééééééééééé\"… is not a bool: write true or false"),
            ),
            (
                Boolean,
                "xééééééééééééééééééééé",
                Err("\"xééééééééééééééééééé\"… is not a bool: write true or false"),
            ),
            // A final status is never typed.
            (
                TaskFinalStatus,
                "{}",
                Err("a PipelineTaskFinalStatus is filled in by KFP when the task runs; it cannot be given as a value"),
            ),
        ];
        let mut failures = Vec::new();
        for (ty, text, want) in cases {
            let got = ty.parse_text(text).map_err(|e| e.to_string());
            let want = want.clone().map_err(str::to_string);
            if got != want {
                failures.push(format!("{ty:?} {text:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Every value a type accepts reads back from its text, so a field shows what it stores.
    #[test]
    fn accepted_values_read_back() {
        for (ty, text) in [
            (NumberInteger, "-12"),
            (NumberDouble, "2.5"),
            (Boolean, "false"),
            (List, "[1, [2], {\"a\": null}]"),
            (Struct, "{\"a\": [1]}"),
        ] {
            let v = ty.parse_text(text).expect("reads");
            assert!(ty.accepts(&v), "{ty:?} {text:?} gave {v}");
            assert_eq!(ty.parse_text(&v.to_string()), Ok(v.clone()), "{ty:?} {v}");
        }
    }
}
