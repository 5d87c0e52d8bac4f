//! The example pipelines shipped inside the binary (from `examples/*.pipeline.json`).

use serde::Serialize;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/examples.rs"));
}

/// Titles for examples whose description does not make a good one, by id.
const TITLES: &[(&str, &str)] = &[(
    "pytorch-text-classification",
    "PyTorch text classification on Vertex AI",
)];

/// Longest description line used as a title.
const MAX_TITLE_CHARS: usize = 80;

/// An example as listed by `GET /api/examples`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExampleSummary {
    /// The id: the file name minus `.pipeline.json`.
    pub id: String,
    /// A short human title.
    pub title: String,
}

/// Every example, sorted by id. An example that is not a valid document (a build mistake the
/// tests catch) is logged and left out.
pub fn list() -> Vec<ExampleSummary> {
    embedded::EXAMPLES
        .iter()
        .filter_map(|(id, text)| match pipeline::Document::from_json(text) {
            Ok(doc) => Some(ExampleSummary {
                id: (*id).to_string(),
                title: title(id, &doc),
            }),
            Err(e) => {
                tracing::error!(example = id, error = %e, "embedded example is not a valid document");
                None
            }
        })
        .collect()
}

/// The document JSON of example `id`.
pub fn get(id: &str) -> Option<&'static str> {
    embedded::EXAMPLES
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, text)| *text)
}

/// Every embedded example as (id, document JSON).
pub fn all() -> &'static [(&'static str, &'static str)] {
    embedded::EXAMPLES
}

/// The title of an example: from [`TITLES`], else the first line of the description when short,
/// else the pipeline name.
fn title(id: &str, doc: &pipeline::Document) -> String {
    if let Some((_, t)) = TITLES.iter().find(|(i, _)| *i == id) {
        return (*t).to_string();
    }
    doc.description
        .as_deref()
        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(|l| l.trim_end_matches('.').to_string())
        .filter(|l| l.chars().count() <= MAX_TITLE_CHARS)
        .unwrap_or_else(|| doc.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_a_document_that_compiles() {
        for (id, text) in all() {
            let doc = pipeline::Document::from_json(text)
                .unwrap_or_else(|e| panic!("example {id} is not a document: {e}"));
            let compiled = pipeline::compile(&doc);
            let errors: Vec<String> = compiled
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(ToString::to_string)
                .collect();
            assert!(errors.is_empty(), "example {id} has errors: {errors:#?}");
            assert!(compiled.spec.is_some());
        }
        assert_eq!(list().len(), all().len());
    }

    #[test]
    fn titles_come_from_table_description_or_name() {
        let mut doc = pipeline::Document::new("my-pipe");
        assert_eq!(title("x", &doc), "my-pipe");
        doc.description = Some("\n  Trains a model.\nMore text".into());
        assert_eq!(title("x", &doc), "Trains a model");
        doc.description = Some("x".repeat(200));
        assert_eq!(title("x", &doc), "my-pipe");
        assert_eq!(
            title("pytorch-text-classification", &doc),
            "PyTorch text classification on Vertex AI"
        );
    }
}
