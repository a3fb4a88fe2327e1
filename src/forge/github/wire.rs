//! The JSON GitHub's REST API takes and gives, only the fields the lifecycle uses.

use serde::{Deserialize, Serialize};

use super::answer::unix_seconds;
use crate::forge::{ForgeError, PrState, PullRequest};

#[derive(Serialize)]
pub(super) struct CreatePull<'a> {
    pub(super) title: &'a str,
    pub(super) body: &'a str,
    pub(super) head: &'a str,
    pub(super) base: &'a str,
    pub(super) draft: bool,
}

#[derive(Serialize)]
pub(super) struct AddLabels<'a> {
    pub(super) labels: &'a [String],
}

#[derive(Serialize)]
pub(super) struct RequestReviewers<'a> {
    pub(super) reviewers: Vec<&'a str>,
    pub(super) team_reviewers: Vec<&'a str>,
}

#[derive(Deserialize)]
pub(super) struct WirePull {
    pub(super) number: u64,
    pub(super) html_url: String,
    pub(super) state: String,
    pub(super) title: String,
    pub(super) body: Option<String>,
    pub(super) head: WireRef,
    pub(super) base: WireRef,
    #[serde(default)]
    pub(super) labels: Vec<WireLabel>,
    pub(super) created_at: String,
    pub(super) merged_at: Option<String>,
    #[serde(default)]
    pub(super) draft: bool,
}

#[derive(Deserialize)]
pub(super) struct WireRef {
    #[serde(rename = "ref")]
    pub(super) ref_: String,
    /// `OWNER:BRANCH`, where OWNER is whoever owns the repository the branch lives in.
    #[serde(default)]
    pub(super) label: String,
}

#[derive(Deserialize)]
pub(super) struct WireLabel {
    pub(super) name: String,
}

#[derive(Deserialize)]
pub(super) struct WireComment {
    pub(super) body: Option<String>,
}

impl WirePull {
    /// Pull requests from forks can share a branch name with ours; they are not ours.
    pub(super) fn is_from_owner(&self, owner: &str) -> bool {
        match self.head.label.split_once(':') {
            Some((label_owner, _)) => label_owner.eq_ignore_ascii_case(owner),
            // Without a label there is nothing to tell a fork by; keep it.
            None => true,
        }
    }

    pub(super) fn into_pull_request(self, step: &'static str) -> Result<PullRequest, ForgeError> {
        let created_at = unix_seconds(step, "created_at", &self.created_at)?;
        let state = match (self.merged_at.is_some(), self.state.as_str()) {
            (true, _) => PrState::Merged,
            (false, "open") => PrState::Open,
            (false, _) => PrState::Closed,
        };
        Ok(PullRequest {
            number: self.number,
            url: self.html_url,
            state,
            title: self.title,
            body: self.body.unwrap_or_default(),
            head_branch: self.head.ref_,
            base_branch: self.base.ref_,
            labels: self.labels.into_iter().map(|l| l.name).collect(),
            created_at,
            draft: self.draft,
        })
    }
}

/// GitHub takes team slugs without the organisation; `org/team` in either list is a team.
pub(super) fn split_reviewers<'a>(
    reviewers: &'a [String],
    teams: &'a [String],
) -> (Vec<&'a str>, Vec<&'a str>) {
    let slug = |s: &'a String| s.rsplit('/').next().unwrap_or(s.as_str());
    let users = reviewers
        .iter()
        .filter(|r| !r.contains('/'))
        .map(String::as_str);
    let team_slugs = reviewers
        .iter()
        .filter(|r| r.contains('/'))
        .chain(teams)
        .map(slug);
    (users.collect(), team_slugs.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_lose_their_organisation() {
        let reviewers = vec!["alice".to_owned(), "acme/platform".to_owned()];
        let teams = vec!["sre".to_owned(), "acme/db".to_owned()];
        let (users, slugs) = split_reviewers(&reviewers, &teams);
        assert_eq!(users, ["alice"]);
        assert_eq!(slugs, ["platform", "sre", "db"]);
    }
}
