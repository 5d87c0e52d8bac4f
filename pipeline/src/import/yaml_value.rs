//! YAML read into JSON values within a size budget.
//!
//! A YAML alias (`*name`) repeats what its anchor (`&name`) holds, so a few lines whose anchors
//! refer to each other ("billion laughs") stand for more values than any memory holds.
//! serde_yaml_ng bounds the nesting (128 levels) and the number of alias jumps (100 per event),
//! but not the size of what they expand to; [`Budgeted`] does, by spending one unit per value and
//! one per byte of every string and key. Without aliases a text spends at most about twice its
//! length, which is what [`budget_for`] allows, plus room for ordinary anchors.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The budget for the YAML documents of `text`: twice its length and a million units more.
pub(crate) fn budget_for(text: &str) -> usize {
    text.len().saturating_mul(2).saturating_add(1_000_000)
}

/// Deserializes a [`Value`] as `serde_json::Value` does, spending from the budget and failing
/// once it is spent (the cell is then 0).
#[derive(Clone, Copy)]
pub(crate) struct Budgeted<'a>(pub &'a Cell<usize>);

impl Budgeted<'_> {
    fn spend<E: Error>(self, units: usize) -> Result<(), E> {
        match self.0.get().checked_sub(units) {
            Some(left) => {
                self.0.set(left);
                Ok(())
            }
            None => {
                self.0.set(0);
                Err(E::custom("the YAML expands beyond its size budget"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Budgeted<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budgeted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E: Error>(self, v: bool) -> Result<Value, E> {
        self.spend(1)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<Value, E> {
        self.spend(1)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<Value, E> {
        self.spend(1)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: Error>(self, v: i128) -> Result<Value, E> {
        self.spend(1)?;
        serde::Deserialize::deserialize(serde::de::value::I128Deserializer::new(v))
            .map(Value::Number)
    }

    fn visit_u128<E: Error>(self, v: u128) -> Result<Value, E> {
        self.spend(1)?;
        serde::Deserialize::deserialize(serde::de::value::U128Deserializer::new(v))
            .map(Value::Number)
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<Value, E> {
        self.spend(1)?;
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Value, E> {
        self.spend(v.len().saturating_add(1))?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: Error>(self, v: String) -> Result<Value, E> {
        self.spend(v.len().saturating_add(1))?;
        Ok(Value::String(v))
    }

    fn visit_none<E: Error>(self) -> Result<Value, E> {
        self.spend(1)?;
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_unit<E: Error>(self) -> Result<Value, E> {
        self.spend(1)?;
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend(1)?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend(1)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key(self))? {
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key, read as a string as `serde_json::Value` reads keys.
struct Key<'a>(Budgeted<'a>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<String, E> {
        self.0.spend(v.len())?;
        Ok(v.to_string())
    }

    fn visit_string<E: Error>(self, v: String) -> Result<String, E> {
        self.0.spend(v.len())?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, budget: usize) -> Result<Vec<Value>, String> {
        let cell = Cell::new(budget);
        serde_yaml_ng::Deserializer::from_str(text)
            .map(|doc| Budgeted(&cell).deserialize(doc).map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn reads_what_serde_json_value_reads() {
        for text in [
            "a: 1\nb: [x, 2.5, -3, true, ~, .nan, 18446744073709551615]\n'1': {c: d}\n2: e\n---\n- f\n",
            "- -170141183460469231731687303715884105728\n",
            "- 170141183460469231731687303715884105727\n",
            "? [a]\n: b\n",
            "!tag x\n",
            "a: b\na: c\n",
        ] {
            let want: Result<Vec<Value>, ()> = serde_yaml_ng::Deserializer::from_str(text)
                .map(|doc| serde::Deserialize::deserialize(doc).map_err(|_| ()))
                .collect();
            assert_eq!(read(text, usize::MAX).map_err(|_| ()), want, "{text}");
        }
    }

    #[test]
    fn stops_when_aliases_expand_past_the_budget() {
        // A thousand items, repeated a thousand times by aliases: 7 KB of text.
        let text = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["x"; 1000].join(", "),
            vec!["*a"; 1000].join(", ")
        );
        let budget = budget_for(&text);
        let err = read(&text, budget).unwrap_err();
        assert!(err.contains("beyond its size budget"), "{err}");
        // Ordinary anchors fit.
        let small = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["x"; 100].join(", "),
            vec!["*a"; 100].join(", ")
        );
        assert_eq!(
            read(&small, budget_for(&small)).unwrap()[0]["b"][99][99],
            "x"
        );
    }
}
