//! [`Map`]: the string-keyed map of the pipeline document and the KFP IR.
//!
//! It behaves like a `BTreeMap<String, V>` (keys unique and always iterated in byte order, so
//! specs come out with sorted keys as the KFP SDK writes them), but it is built from plain
//! vectors. The reason is size: every `BTreeMap<String, V>` instantiates its own B-tree,
//! bulk-build and sort code for each value type (a dozen in the IR); replacing them cut the
//! browser's wasm by 60 KB. Here the keys live in a sorted `Vec<String>` with, beside each,
//! the index of its value in a `Vec<V>` kept in arrival order: searching, ordering and
//! re-linking work on keys and indices alone and are compiled once, and what is generic over
//! `V` is a push or a swap. Inserting shifts only keys and indices, never values, so building a
//! map of a thousand large task specs in any order stays cheap.

use std::{fmt, marker::PhantomData, ops::Index};

use serde::{
    de::{MapAccess, Visitor},
    ser::SerializeMap,
    Deserialize, Deserializer, Serialize, Serializer,
};

/// A map from strings to `V`, iterated in key order. See the [module docs](self).
#[derive(Clone)]
pub struct Map<V> {
    /// Sorted, no duplicates.
    keys: Vec<String>,
    /// `values[at[i]]` belongs to `keys[i]`; a permutation of `0..values.len()`.
    at: Vec<usize>,
    /// In arrival order.
    values: Vec<V>,
}

/// Where `key` is in the sorted `keys`, or where it would go.
fn search(keys: &[String], key: &str) -> Result<usize, usize> {
    keys.binary_search_by(|k| k.as_str().cmp(key))
}

/// Keys in arrival order → the keys sorted and, for each, its arrival index. `Err` gives the
/// keys back when one comes twice.
fn index_keys(keys: Vec<String>) -> Result<(Vec<String>, Vec<usize>), Vec<String>> {
    if keys.windows(2).all(|w| w[0] < w[1]) {
        let at = (0..keys.len()).collect();
        return Ok((keys, at));
    }
    let mut at: Vec<usize> = (0..keys.len()).collect();
    at.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
    if at.windows(2).any(|w| keys[w[0]] == keys[w[1]]) {
        return Err(keys);
    }
    let sorted = at.iter().map(|&i| keys[i].clone()).collect();
    Ok((sorted, at))
}

/// After `values.swap_remove(gone)`, the value that was last (at index `moved`) sits at `gone`:
/// points its key there.
fn relink(at: &mut [usize], moved: usize, gone: usize) {
    if let Some(slot) = at.iter_mut().find(|slot| **slot == moved) {
        *slot = gone;
    }
}

impl<V> Map<V> {
    /// An empty map.
    pub const fn new() -> Self {
        Map {
            keys: Vec::new(),
            at: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Builds a map from pairs in any order; a repeated key keeps its last value.
    fn from_pairs(keys: Vec<String>, values: Vec<V>) -> Self {
        match index_keys(keys) {
            Ok((keys, at)) => Map { keys, at, values },
            Err(keys) => {
                let mut map = Map::new();
                for (k, v) in keys.into_iter().zip(values) {
                    map.insert(k, v);
                }
                map
            }
        }
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        let i = search(&self.keys, key).ok()?;
        self.values.get(self.at[i])
    }

    /// The value for `key`, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let i = search(&self.keys, key).ok()?;
        self.values.get_mut(self.at[i])
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        search(&self.keys, key).is_ok()
    }

    /// Puts a new key at sorted position `i`.
    fn put(&mut self, i: usize, key: String, value: V) -> &mut V {
        self.keys.insert(i, key);
        self.at.insert(i, self.values.len());
        self.values.push(value);
        let last = self.values.len() - 1;
        &mut self.values[last]
    }

    /// Sets `key` to `value`, returning the value it replaced.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match search(&self.keys, &key) {
            Ok(i) => Some(std::mem::replace(&mut self.values[self.at[i]], value)),
            Err(i) => {
                self.put(i, key, value);
                None
            }
        }
    }

    /// Takes `key`'s value out.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let i = search(&self.keys, key).ok()?;
        self.keys.remove(i);
        let gone = self.at.remove(i);
        let value = self.values.swap_remove(gone);
        relink(&mut self.at, self.values.len(), gone);
        Some(value)
    }

    /// The slot for `key`, filled or not.
    pub fn entry(&mut self, key: String) -> Entry<'_, V> {
        match search(&self.keys, &key) {
            Ok(i) => Entry::Occupied(&mut self.values[self.at[i]]),
            Err(i) => Entry::Vacant(VacantEntry { map: self, i, key }),
        }
    }

    /// Keeps only the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut V) -> bool) {
        let all = std::mem::take(self);
        for (k, mut v) in all {
            if keep(&k, &mut v) {
                // Keys come in order, so each goes at the end.
                self.put(self.keys.len(), k, v);
            }
        }
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            keys: self.keys.iter(),
            at: self.at.iter(),
            values: &self.values,
        }
    }

    /// The entries in key order, values changeable.
    pub fn iter_mut(&mut self) -> IterMut<'_, V> {
        IterMut {
            keys: self.keys.iter(),
            at: self.at.iter(),
            slots: self.values.iter_mut().map(Some).collect(),
        }
    }

    /// The keys in order.
    pub fn keys(&self) -> std::slice::Iter<'_, String> {
        self.keys.iter()
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.iter().map(|(_, v)| v)
    }

    /// The values in key order, changeable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.iter_mut().map(|(_, v)| v)
    }
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map::new()
    }
}

impl<V: PartialEq> PartialEq for Map<V> {
    /// Same keys with equal values, whatever order they were inserted in.
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys && self.values().eq(other.values())
    }
}

impl<V: Eq> Eq for Map<V> {}

impl<V: fmt::Debug> fmt::Debug for Map<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> Index<&str> for Map<V> {
    type Output = V;

    /// The value for `key`; panics when there is none (as `BTreeMap` does), so use it only for
    /// keys known to be there.
    fn index(&self, key: &str) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry for key {key:?}"),
        }
    }
}

/// Iterator over `(&key, &value)` in key order.
pub struct Iter<'a, V> {
    keys: std::slice::Iter<'a, String>,
    at: std::slice::Iter<'a, usize>,
    values: &'a [V],
}

impl<V> Clone for Iter<'_, V> {
    fn clone(&self) -> Self {
        Iter {
            keys: self.keys.clone(),
            at: self.at.clone(),
            values: self.values,
        }
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a String, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        Some((self.keys.next()?, &self.values[*self.at.next()?]))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.keys.size_hint()
    }
}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        Some((self.keys.next_back()?, &self.values[*self.at.next_back()?]))
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

/// Iterator over `(&key, &mut value)` in key order.
pub struct IterMut<'a, V> {
    keys: std::slice::Iter<'a, String>,
    at: std::slice::Iter<'a, usize>,
    /// Each value lent out once, in arrival order.
    slots: Vec<Option<&'a mut V>>,
}

impl<'a, V> Iterator for IterMut<'a, V> {
    type Item = (&'a String, &'a mut V);
    fn next(&mut self) -> Option<Self::Item> {
        let k = self.keys.next()?;
        Some((k, self.slots[*self.at.next()?].take()?))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.keys.size_hint()
    }
}

impl<V> DoubleEndedIterator for IterMut<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let k = self.keys.next_back()?;
        Some((k, self.slots[*self.at.next_back()?].take()?))
    }
}

impl<V> ExactSizeIterator for IterMut<'_, V> {}

/// Iterator over `(key, value)` in key order, taking the map.
pub struct IntoIter<V> {
    keys: std::vec::IntoIter<String>,
    at: std::vec::IntoIter<usize>,
    /// Each value taken once, in arrival order.
    slots: Vec<Option<V>>,
}

impl<V> Iterator for IntoIter<V> {
    type Item = (String, V);
    fn next(&mut self) -> Option<Self::Item> {
        let k = self.keys.next()?;
        Some((k, self.slots[self.at.next()?].take()?))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.keys.size_hint()
    }
}

impl<V> DoubleEndedIterator for IntoIter<V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let k = self.keys.next_back()?;
        Some((k, self.slots[self.at.next_back()?].take()?))
    }
}

impl<V> ExactSizeIterator for IntoIter<V> {}

impl<V> IntoIterator for Map<V> {
    type Item = (String, V);
    type IntoIter = IntoIter<V>;
    fn into_iter(self) -> Self::IntoIter {
        IntoIter {
            keys: self.keys.into_iter(),
            at: self.at.into_iter(),
            slots: self.values.into_iter().map(Some).collect(),
        }
    }
}

impl<'a, V> IntoIterator for &'a Map<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = Iter<'a, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, V> IntoIterator for &'a mut Map<V> {
    type Item = (&'a String, &'a mut V);
    type IntoIter = IterMut<'a, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<V> FromIterator<(String, V)> for Map<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let (keys, values) = iter.into_iter().unzip();
        Map::from_pairs(keys, values)
    }
}

impl<V> Extend<(String, V)> for Map<V> {
    fn extend<I: IntoIterator<Item = (String, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

/// A slot of a [`Map`], from [`Map::entry`].
pub enum Entry<'a, V> {
    /// The key has a value.
    Occupied(&'a mut V),
    /// The key has none yet.
    Vacant(VacantEntry<'a, V>),
}

/// An empty slot of a [`Map`]: where its key would go.
pub struct VacantEntry<'a, V> {
    map: &'a mut Map<V>,
    i: usize,
    key: String,
}

impl<'a, V> VacantEntry<'a, V> {
    /// Fills the slot.
    pub fn insert(self, value: V) -> &'a mut V {
        let VacantEntry { map, i, key } = self;
        map.put(i, key, value)
    }
}

impl<'a, V> Entry<'a, V> {
    /// The value, set to `value` first if there was none.
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    /// The value, set to `make()` first if there was none.
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        match self {
            Entry::Occupied(v) => v,
            Entry::Vacant(slot) => slot.insert(make()),
        }
    }

    /// The value, set to its default first if there was none.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }
}

impl<V: Serialize> Serialize for Map<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Map<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = Map<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Map<V>, A::Error> {
                let n = access.size_hint().unwrap_or(0).min(4096);
                let mut keys = Vec::with_capacity(n);
                let mut values = Vec::with_capacity(n);
                while let Some((k, v)) = access.next_entry()? {
                    keys.push(k);
                    values.push(v);
                }
                Ok(Map::from_pairs(keys, values))
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every operation, checked against `BTreeMap` on the same script of keys.
    #[test]
    fn behaves_like_a_btreemap() {
        let script = ["m", "b", "z", "b", "a", "m", "", "é", "B", "zz", "a"];
        let mut ours = Map::new();
        let mut theirs = BTreeMap::new();
        for (i, k) in script.iter().enumerate() {
            assert_eq!(
                ours.insert(k.to_string(), i),
                theirs.insert(k.to_string(), i)
            );
            assert!(ours.iter().eq(theirs.iter()), "after inserting {k:?}");
        }
        assert_eq!(ours.len(), theirs.len());
        for k in ["m", "q", "", "zz", "zzz"] {
            assert_eq!(ours.get(k), theirs.get(k), "get {k:?}");
            assert_eq!(ours.contains_key(k), theirs.contains_key(k));
        }
        *ours.entry("q".into()).or_insert(0) += 5;
        *theirs.entry("q".to_string()).or_insert(0) += 5;
        *ours.entry("m".into()).or_default() += 5;
        *theirs.entry("m".to_string()).or_default() += 5;
        assert!(ours.iter().eq(theirs.iter()));
        assert_eq!(ours.remove("b"), theirs.remove("b"));
        assert_eq!(ours.remove("nope"), theirs.remove("nope"));
        ours.retain(|k, v| k.len() == 1 && *v % 2 == 0);
        theirs.retain(|k, v| k.len() == 1 && *v % 2 == 0);
        assert!(ours.iter().eq(theirs.iter()));
        assert_eq!(ours.iter().next(), theirs.iter().next());
    }

    /// A long pseudo-random run of inserts, removals and entry updates, compared with `BTreeMap`
    /// after every step (removals move values around inside, so this checks the re-linking).
    #[test]
    fn random_edits_agree_with_a_btreemap() {
        let mut ours = Map::new();
        let mut theirs = BTreeMap::new();
        let mut seed = 7u64;
        for step in 0..4000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = format!("k{}", (seed >> 33) % 60);
            match (seed >> 20) % 4 {
                0 | 1 => assert_eq!(ours.insert(key.clone(), step), theirs.insert(key, step)),
                2 => assert_eq!(ours.remove(&key), theirs.remove(&key)),
                _ => {
                    *ours.entry(key.clone()).or_insert(0) += 1;
                    *theirs.entry(key).or_insert(0) += 1;
                }
            }
            assert!(ours.iter().eq(theirs.iter()), "step {step}");
        }
        for (_, v) in ours.iter_mut() {
            *v += 1;
        }
        for v in theirs.values_mut() {
            *v += 1;
        }
        assert!(ours.values().rev().eq(theirs.values().rev()));
        assert!(ours.clone().into_iter().eq(theirs.clone()));
        assert!(ours.into_iter().rev().eq(theirs.into_iter().rev()));
    }

    #[test]
    fn equal_whatever_the_insertion_order() {
        let a: Map<i32> = [("x".to_string(), 1), ("a".to_string(), 2)]
            .into_iter()
            .collect();
        let mut b = Map::new();
        b.insert("a".to_string(), 2);
        b.insert("x".to_string(), 1);
        assert_eq!(a, b);
        b.insert("a".to_string(), 3);
        assert_ne!(a, b);
    }

    #[test]
    fn collecting_sorts_and_keeps_the_last_of_repeated_keys() {
        let pairs = [("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)];
        let ours: Map<i32> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let theirs: BTreeMap<String, i32> =
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert!(ours.iter().eq(theirs.iter()));
        assert_eq!(ours.get("a"), Some(&5));
    }

    #[test]
    fn json_round_trip_sorts_keys_and_later_duplicates_win() {
        let m: Map<u8> = serde_json::from_str(r#"{"z": 1, "a": 2, "z": 3}"#).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":2,"z":3}"#);
        let err = serde_json::from_str::<Map<u8>>(r#"{"a": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("expected u8"), "{err}");
        let err = serde_json::from_str::<Map<u8>>("[1]").unwrap_err();
        assert!(err.to_string().contains("expected a map"), "{err}");
    }
}
