//! Keeping credentials out of messages: libgit2 and HTTP errors can quote the URL they failed
//! on, and a URL can carry `user:token@`.

/// Removes the user-info part of every URL in `text` and every occurrence of the given
/// secrets (empty ones are ignored).
///
/// ```
/// let msg = attune::git::redact("failed to fetch https://bot:s3cret@example.com/a.git (s3cret)", &["s3cret"]);
/// assert_eq!(msg, "failed to fetch https://***@example.com/a.git (***)");
/// ```
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                out.push_str(&authority[userinfo_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn urls_lose_their_userinfo_and_secrets_vanish() {
        assert_eq!(
            redact(
                "http://x-access-token:ghp_abc@127.0.0.1:9/o/r.git and http://h/p",
                &[]
            ),
            "http://***@127.0.0.1:9/o/r.git and http://h/p"
        );
        assert_eq!(
            redact("token ghp_abc rejected", &["ghp_abc", ""]),
            "token *** rejected"
        );
        assert_eq!(
            redact("no url here", &["x"]),
            "no url here".replace('x', "***")
        );
    }
}
