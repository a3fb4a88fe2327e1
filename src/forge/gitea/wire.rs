//! What Gitea answers, as the backend reads it: pull requests, labels, comments, users, error
//! bodies and timestamps. Only the fields the lifecycle needs; unknown ones are ignored.

use serde::Deserialize;

use crate::forge::{ForgeError, PrState, PullRequest};
use crate::text::floor_char_boundary;

#[derive(Deserialize)]
pub(super) struct ApiPull {
    pub(super) number: u64,
    pub(super) html_url: String,
    pub(super) state: String,
    #[serde(default)]
    pub(super) merged: bool,
    pub(super) title: String,
    #[serde(default)]
    pub(super) body: Option<String>,
    pub(super) head: ApiBranch,
    pub(super) base: ApiBranch,
    #[serde(default)]
    pub(super) labels: Option<Vec<ApiLabel>>,
    pub(super) created_at: String,
    #[serde(default)]
    pub(super) draft: bool,
}

#[derive(Deserialize)]
pub(super) struct ApiBranch {
    /// The branch name as the pull request was opened, kept after the branch is deleted.
    #[serde(default)]
    pub(super) label: String,
    #[serde(rename = "ref", default)]
    pub(super) git_ref: String,
    #[serde(default)]
    pub(super) repo_id: i64,
}

#[derive(Deserialize)]
pub(super) struct ApiLabel {
    pub(super) id: i64,
    pub(super) name: String,
}

#[derive(Deserialize)]
pub(super) struct ApiComment {
    #[serde(default)]
    pub(super) body: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ApiUser {
    pub(super) login: String,
}

impl ApiPull {
    pub(super) fn head_branch(&self) -> &str {
        if !self.head.label.is_empty() {
            return &self.head.label;
        }
        // AGit pull requests have no label; their ref is still the pushed one.
        self.head
            .git_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&self.head.git_ref)
    }

    pub(super) fn into_pull_request(self, step: &'static str) -> Result<PullRequest, ForgeError> {
        let created_at = parse_rfc3339(&self.created_at).ok_or_else(|| ForgeError::Decode {
            step,
            message: format!("`created_at` is not a timestamp: {:?}", self.created_at),
        })?;
        let state = match (self.state.as_str(), self.merged) {
            (_, true) => PrState::Merged,
            ("open", false) => PrState::Open,
            ("closed", false) => PrState::Closed,
            (other, false) => {
                return Err(ForgeError::Decode {
                    step,
                    message: format!("unknown pull request state {other:?}"),
                });
            }
        };
        Ok(PullRequest {
            number: self.number,
            head_branch: self.head_branch().to_owned(),
            url: self.html_url,
            state,
            title: self.title,
            body: self.body.unwrap_or_default(),
            base_branch: self.base.git_ref,
            labels: self
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.name)
                .collect(),
            created_at,
            draft: self.draft,
        })
    }
}

/// Gitea's `message`, or a bounded piece of a body that is not Gitea's error JSON (a proxy page).
pub(super) fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct ApiError {
        message: String,
    }
    if let Ok(error) = serde_json::from_str::<ApiError>(body)
        && !error.message.is_empty()
    {
        return error.message;
    }
    let text = body.trim();
    if text.is_empty() {
        return "no message".into();
    }
    text[..floor_char_boundary(text, 200)].to_owned()
}

/// Unix seconds of an RFC 3339 timestamp (`2026-01-02T03:04:05Z`, `…+01:00`, fractions allowed).
pub(super) fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year = number(date_parts.next()?)?;
    let month = number(date_parts.next()?)?;
    let day = number(date_parts.next()?)?;
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let sign_at = time.rfind(['+', '-'])?;
        let (clock, zone) = time.split_at(sign_at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = zone[1..].split_once(':')?;
        (
            clock,
            sign * (number(hours)? * 3600 + number(minutes)? * 60),
        )
    };
    let clock = clock.split_once('.').map_or(clock, |(whole, _)| whole);
    let mut clock_parts = clock.splitn(3, ':');
    let hour = number(clock_parts.next()?)?;
    let minute = number(clock_parts.next()?)?;
    let second = number(clock_parts.next()?)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second.min(60) - offset)
}

/// Days from 1970-01-01 to a proleptic Gregorian date, counted through 400-year eras (each
/// exactly 146097 days) with years starting in March so the leap day falls last.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
