//! Credentials for the remote targets. Nothing here is ever logged, stored or sent to the
//! browser: the token's `Debug` output is redacted.
//!
//! - Vertex AI: `PIPELINE_CANVAS_ACCESS_TOKEN` (a static bearer token, through
//!   [`StaticToken`]), else Application Default Credentials from `google-cloud-auth`
//!   (`GOOGLE_APPLICATION_CREDENTIALS`, the gcloud user credentials file, the metadata server).
//! - Kubeflow Pipelines: `PIPELINE_CANVAS_KFP_TOKEN`, sent as a bearer token when set.

use google_cloud_auth::credentials::{
    Builder as AdcBuilder, CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use google_cloud_auth::errors::CredentialsError;
use http::header::{HeaderValue, AUTHORIZATION};
use http::{Extensions, HeaderMap};

use crate::TargetError;

/// The environment variable holding a static access token for Vertex AI.
pub const ACCESS_TOKEN_ENV: &str = "PIPELINE_CANVAS_ACCESS_TOKEN";

/// The environment variable holding a bearer token for Kubeflow Pipelines.
pub const KFP_TOKEN_ENV: &str = "PIPELINE_CANVAS_KFP_TOKEN";

/// Where Vertex AI credentials come from.
#[derive(Clone)]
pub enum AuthSource {
    /// A fixed bearer token.
    Static(String),
    /// Application Default Credentials.
    Adc,
}

impl std::fmt::Debug for AuthSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthSource::Static(_) => f.write_str("Static(<redacted>)"),
            AuthSource::Adc => f.write_str("Adc"),
        }
    }
}

impl AuthSource {
    /// A static token when `token` is set and not blank, else ADC.
    pub fn from_token(token: Option<&str>) -> Self {
        match token.map(str::trim) {
            Some(t) if !t.is_empty() => AuthSource::Static(t.to_string()),
            _ => AuthSource::Adc,
        }
    }

    /// The credentials for Google's client.
    pub fn credentials(&self) -> Result<Credentials, TargetError> {
        match self {
            AuthSource::Static(token) => Ok(Credentials::from(StaticToken::new(token)?)),
            AuthSource::Adc => AdcBuilder::default().build().map_err(|e| {
                TargetError::Auth(format!(
                    "cannot load Application Default Credentials ({e}); run `gcloud auth \
                     application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or set \
                     {ACCESS_TOKEN_ENV}"
                ))
            }),
        }
    }
}

/// A [`CredentialsProvider`] that sends one fixed bearer token.
pub struct StaticToken {
    headers: HeaderMap,
    tag: EntityTag,
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl StaticToken {
    /// A provider of `Authorization: Bearer <token>`.
    pub fn new(token: &str) -> Result<Self, TargetError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            TargetError::Auth(format!(
                "{ACCESS_TOKEN_ENV} holds characters a token cannot have"
            ))
        })?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        Ok(Self {
            headers,
            tag: EntityTag::new(),
        })
    }
}

impl CredentialsProvider for StaticToken {
    async fn headers(
        &self,
        extensions: Extensions,
    ) -> Result<CacheableResource<HeaderMap>, CredentialsError> {
        if extensions.get::<EntityTag>() == Some(&self.tag) {
            return Ok(CacheableResource::NotModified);
        }
        Ok(CacheableResource::New {
            entity_tag: self.tag.clone(),
            data: self.headers.clone(),
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        Some("googleapis.com".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_token_sends_a_bearer_header_and_hides_it() {
        let p = StaticToken::new("secret-token").expect("token");
        assert!(!format!("{p:?}").contains("secret"));
        assert!(!format!("{:?}", AuthSource::Static("secret".into())).contains("secret"));
        let CacheableResource::New { entity_tag, data } =
            p.headers(Extensions::new()).await.expect("headers")
        else {
            panic!("expected new headers");
        };
        assert_eq!(
            data.get(AUTHORIZATION).and_then(|v| v.to_str().ok()),
            Some("Bearer secret-token")
        );
        let mut ext = Extensions::new();
        ext.insert(entity_tag);
        assert_eq!(
            p.headers(ext).await.expect("headers"),
            CacheableResource::NotModified
        );
        assert!(StaticToken::new("bad\ntoken").is_err());
    }
}
