//! Import → compile reproduces every compiled pipeline of the KFP conformance corpus
//! (`../shared/kfp-conformance/`), `sdkVersion` and key order aside. Prints the score.

use std::path::Path;

use serde_json::Value;

mod common;

/// Numbers compare as doubles (protobuf `Value`), and `sdkVersion` is ours.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "sdkVersion")
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

#[path = "../../tests/common/json_diff.rs"]
mod json_diff;

/// Removes what only imports record (names the compiler would otherwise generate), leaving
/// the document a canvas user would have drawn.
fn as_drawn(doc: &mut pipeline::Document) {
    for g in &mut doc.groups {
        g.name = None;
        if let pipeline::GroupKind::Loop { item_input, .. } = &mut g.kind {
            *item_input = None;
        }
    }
    for n in &mut doc.nodes {
        n.component_name = None;
    }
    for c in doc.components.values_mut() {
        if let Some(inner) = c.pipeline.as_mut() {
            as_drawn(inner);
        }
    }
}

fn round_trip(path: &Path, drawn: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut doc = pipeline::import::import_pipeline(&text).map_err(|e| format!("import: {e}"))?;
    if drawn {
        as_drawn(&mut doc);
    }
    // The document itself survives its own JSON form.
    let doc = pipeline::Document::from_json(&doc.to_json()).map_err(|e| format!("reread: {e}"))?;
    let compiled = pipeline::compile(&doc);
    let platform_spec = compiled.platform_spec;
    let spec = compiled.spec.ok_or_else(|| {
        let d: Vec<String> = compiled.diagnostics.iter().map(|d| d.to_string()).collect();
        format!("compile: {}", d.join("; "))
    })?;
    let mut docs = serde_yaml_ng::Deserializer::from_str(&text);
    let original: Value = serde::Deserialize::deserialize(docs.next().ok_or("no document")?)
        .map_err(|e| e.to_string())?;
    let ours = normalize(&serde_json::to_value(&spec).map_err(|e| e.to_string())?);
    if let Some(d) = json_diff::differences(&ours, &normalize(&original), json_diff::Numbers::Exact)
        .into_iter()
        .next()
    {
        return Err(format!("spec differs at {d}"));
    }
    let platform: Option<Value> = docs
        .next()
        .map(serde::Deserialize::deserialize)
        .transpose()
        .map_err(|e| e.to_string())?;
    // The platform spec comes back whole: the document's own part with each task's settings.
    let platform = platform.as_ref().map(normalize);
    if platform != platform_spec.as_ref().map(normalize) {
        return Err("platform spec differs".into());
    }
    Ok(())
}

#[test]
fn conformance_corpus_round_trips() {
    let files = common::corpus();
    let mut drawn_passed = 0;
    for f in &files {
        match round_trip(f, true) {
            Ok(()) => drawn_passed += 1,
            Err(e) => println!("as drawn: {}: {e}", f.display()),
        }
    }
    println!(
        "drawn on the canvas (no imported names): {drawn_passed}/{} files compile to exactly what the KFP SDK wrote",
        files.len()
    );
    let mut passed = 0;
    let mut failures = Vec::new();
    for f in &files {
        match round_trip(f, false) {
            Ok(()) => passed += 1,
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!(
        "round trip: {passed}/{} files reproduce exactly",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} files do not round-trip",
        failures.len(),
        files.len()
    );
}
