//! The bearer token for Prometheus, in a type that cannot print it.

use http::HeaderValue;

use super::UsageError;

/// A bearer token read by the caller from `spec.metricsSource.prometheus.bearerTokenSecret` in
/// the policy's namespace. `Debug` prints `***`; there is no `Display`. It only ever leaves this
/// module as a sensitive `Authorization` header value, sent to the configured address.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

impl BearerToken {
    /// The token from a Secret's value. Surrounding whitespace (a trailing newline from
    /// `kubectl create secret --from-file`) is dropped; an empty token, non-UTF-8 bytes or
    /// characters an HTTP header cannot carry are refused without echoing the value.
    pub fn from_secret_value(bytes: &[u8]) -> Result<BearerToken, UsageError> {
        const FIELD: &str = "prometheus.bearerTokenSecret";
        let text = std::str::from_utf8(bytes)
            .map_err(|_| UsageError::setting(FIELD, "the secret value is not UTF-8 text"))?
            .trim();
        if text.is_empty() {
            return Err(UsageError::setting(FIELD, "the secret value is empty"));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UsageError::setting(
                FIELD,
                "the secret value contains spaces or characters an http header cannot carry",
            ));
        }
        Ok(BearerToken(text.to_owned()))
    }

    /// `Bearer <token>` as a header value marked sensitive (hyper does not log or index it).
    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// The raw token, for redacting echoes of it from answers.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let token = BearerToken::from_secret_value(b"s3cr3t-token\n").unwrap();
        assert_eq!(format!("{token:?}"), "BearerToken(***)");
        assert_eq!(token.expose(), "s3cr3t-token");
        let header = token.header_value().unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), "Bearer s3cr3t-token");
    }

    #[test]
    fn refuses_unusable_values_without_echoing_them() {
        for bad in [&b""[..], b"  \n", b"two words", b"\xff\xfe", b"tab\there"] {
            let err = BearerToken::from_secret_value(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("spec.metricsSource.prometheus.bearerTokenSecret: "),
                "{err}"
            );
            assert!(!err.contains("words") && !err.contains("tab"), "{err}");
        }
    }
}
