//! [`Shared`]: a copy-on-write value, cheap to copy and to compare with its copies.
//!
//! The canvas keeps the document it shows, the states Undo returns to, and the scene's view of
//! the document. Copying and comparing them on an edit must cost what the edit changed, not the
//! pipeline's size. The document's components are the largest part (a pipeline compiled by KFP
//! brings one component per task) and an edit rarely touches them, so they are held in a
//! [`Shared`]: a copy shares them, an equality test of two copies is a pointer comparison, and
//! only a write to one copy clones them ([`Arc::make_mut`]).

use std::{fmt, ops::Deref, ops::DerefMut, sync::Arc};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `T` shared between copies until one of them is written to. Reads go through [`Deref`];
/// a write through [`DerefMut`] first gives this copy its own `T` if others share it.
/// Serialized as the `T` it holds.
#[derive(Default)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    /// Holds `value`.
    pub fn new(value: T) -> Self {
        Self(Arc::new(value))
    }

    /// Whether `self` and `other` share one value (then they are equal without looking).
    pub fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Clone for Shared<T> {
    /// Another handle on the same value: no `T` is cloned.
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    /// This copy's own value, cloned from the shared one first if other copies hold it.
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    /// Copies of one value are equal at once; others are compared value for value.
    fn eq(&self, other: &Self) -> bool {
        self.same(other) || *self.0 == *other.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_until_one_is_written() {
        let a = Shared::new(vec![1, 2, 3]);
        let mut b = a.clone();
        assert!(a.same(&b));
        assert_eq!(a, b);
        b.push(4);
        assert!(!a.same(&b), "the write gave b its own value");
        assert_eq!(
            *a,
            vec![1, 2, 3],
            "the copy written to does not change the other"
        );
        assert_eq!(*b, vec![1, 2, 3, 4]);
        assert_ne!(a, b);
    }

    #[test]
    fn values_apart_are_compared_by_value() {
        let a = Shared::new(String::from("x"));
        let b = Shared::new(String::from("x"));
        assert!(!a.same(&b));
        assert_eq!(a, b);
    }

    #[test]
    fn serialized_as_the_value() {
        let a = Shared::new(vec![String::from("k")]);
        let json = serde_json::to_string(&a).expect("serializes");
        assert_eq!(json, r#"["k"]"#);
        let back: Shared<Vec<String>> = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, a);
    }
}
