//! The hidden marker at the end of every bot pull request body: which change set it carries,
//! so a later run knows — with the one read it makes anyway — whether the PR is current, and
//! what values a human closed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

const OPEN: &str = "<!-- attune:v1 ";
const CLOSE: &str = " -->";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub hash: String,
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

impl Marker {
    /// The marker line. `>` is escaped inside the JSON so no value can end the comment early.
    pub fn render(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        format!("{OPEN}{}{CLOSE}", json.replace('>', "\\u003e"))
    }

    /// The last marker in `body`, if it parses.
    pub fn find(body: &str) -> Option<Marker> {
        let start = body.rfind(OPEN)? + OPEN.len();
        let end = start + body[start..].find(CLOSE)?;
        serde_json::from_str(&body[start..end]).ok()
    }
}

/// Marks the one comment the bot leaves when a human pushed to its branch.
pub const HUMAN_COMMIT_NOTE: &str = "<!-- attune:human-commit -->";

/// Marks the comment the bot leaves before closing an obsolete pull request, so a run that
/// failed between comment and close does not comment twice when it is run again.
pub const CLOSE_NOTE: &str = "<!-- attune:obsolete -->";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_survives_hostile_values() {
        let m = Marker {
            hash: "abc".into(),
            values: [("ns/Deployment/a/c/cpu-request".into(), "1-->x".into())].into(),
        };
        let body = format!("text\n\n{}\n", m.render());
        assert!(!m.render()[OPEN.len()..].contains("-->x"));
        assert_eq!(Marker::find(&body), Some(m));
        assert_eq!(Marker::find("no marker"), None);
    }
}
