//! Settings of the remote targets (`GET/PUT /api/targets`, `<data-dir>/targets.json`). They
//! never hold secrets: credentials come from the server's environment.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Settings of Vertex AI Pipelines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VertexSettings {
    /// The Google Cloud project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The region (location), e.g. `us-central1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Where runs write their outputs: a `gs://` URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_root: Option<String>,
    /// The service account the pipeline runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// The VPC network to peer with (`projects/{number}/global/networks/{name}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Labels of every run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// A customer-managed encryption key (`kmsKeyName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<String>,
    /// Turns caching on or off for every task, overriding the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_caching: Option<bool>,
}

/// Settings of Kubeflow Pipelines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KfpSettings {
    /// The KFP API's base URL, e.g. `http://localhost:8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The Kubernetes namespace (multi-user installations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name of the experiment runs are filed under, found or created in the namespace as
    /// the KFP SDK's client does (`Default` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// Where runs write their outputs (else the spec's or the installation's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_root: Option<String>,
}

/// The settings of every remote target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetsConfig {
    /// Vertex AI Pipelines.
    #[serde(default)]
    pub vertex: VertexSettings,
    /// Kubeflow Pipelines.
    #[serde(default)]
    pub kfp: KfpSettings,
}

fn pick<T: Clone>(over: &Option<T>, base: &Option<T>) -> Option<T> {
    over.clone().or_else(|| base.clone())
}

impl VertexSettings {
    /// These settings with every field set in `over` replaced (labels are merged).
    pub fn overridden_by(&self, over: &VertexSettings) -> VertexSettings {
        let mut labels = self.labels.clone();
        labels.extend(over.labels.clone());
        VertexSettings {
            project: pick(&over.project, &self.project),
            region: pick(&over.region, &self.region),
            pipeline_root: pick(&over.pipeline_root, &self.pipeline_root),
            service_account: pick(&over.service_account, &self.service_account),
            network: pick(&over.network, &self.network),
            labels,
            encryption_key: pick(&over.encryption_key, &self.encryption_key),
            enable_caching: over.enable_caching.or(self.enable_caching),
        }
    }
}

impl KfpSettings {
    /// These settings with every field set in `over` replaced.
    pub fn overridden_by(&self, over: &KfpSettings) -> KfpSettings {
        KfpSettings {
            host: pick(&over.host, &self.host),
            namespace: pick(&over.namespace, &self.namespace),
            experiment: pick(&over.experiment, &self.experiment),
            pipeline_root: pick(&over.pipeline_root, &self.pipeline_root),
        }
    }
}
