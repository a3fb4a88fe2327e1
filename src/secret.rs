//! A credential that cannot be printed by accident: `Debug` and `Display` show `***`, it has no
//! `Serialize`, and reading the text takes an explicit [`SecretToken::expose`], which is easy
//! to find in review. Every forge token, GitHub App installation token and git password is held
//! in one from the moment it is read (environment, Secret, token endpoint) until it is put into
//! an HTTP header or handed to libgit2.
//!
//! Must not know: where a token comes from or where it goes (no other module of the crate).

/// A forge or git token.
#[derive(Clone)]
pub struct SecretToken(Box<str>);

impl SecretToken {
    pub fn new(text: impl Into<String>) -> SecretToken {
        SecretToken(text.into().into_boxed_str())
    }

    /// The token's text, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretToken {
    fn from(text: String) -> SecretToken {
        SecretToken::new(text)
    }
}

impl From<&str> for SecretToken {
    fn from(text: &str) -> SecretToken {
        SecretToken::new(text)
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::SecretToken;

    #[test]
    fn prints_as_stars_everywhere() {
        let token = SecretToken::from("ghp_s3cr3t");
        assert_eq!(format!("{token}"), "***");
        assert_eq!(format!("{token:?}"), "***");
        assert_eq!(format!("{:?}", Some(token.clone())), "Some(***)");
        assert_eq!(token.expose(), "ghp_s3cr3t");
    }
}
