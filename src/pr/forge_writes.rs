//! The pipeline's forge side after the decision: the rate limits before opening, and the writes
//! each decision needs (create, update, comment, close, delete the branch), each asked of the
//! write gate right before it is made.

use super::git_jobs::{self, GitWorker, RemoteState};
use super::marker::{CLOSE_NOTE, HUMAN_COMMIT_NOTE};
use super::plan::Decision;
use super::sync::Run;
use super::{Action, PrError, RunResult, Write, body};
use crate::forge::{Forge, NewPullRequest, PrState};

/// `Some(reason)` when opening one more pull request would break a limit.
pub(super) async fn over_limit<F: Forge>(run: &Run<'_, F>) -> Result<Option<String>, PrError> {
    let limits = &run.settings.limits;
    if limits.hourly == 0 && limits.concurrent == 0 {
        return Ok(None);
    }
    let cap = limits.hourly.max(limits.concurrent) as usize;
    let recent = run
        .forge
        .list_by_head_prefix(&run.target.repo, &limits.prefix, cap.max(1))
        .await?;
    let open = recent.iter().filter(|p| p.state == PrState::Open).count();
    if limits.concurrent > 0 && open >= limits.concurrent as usize {
        return Ok(Some(format!(
            "prConcurrentLimit: {open} bot pull requests are open (limit {})",
            limits.concurrent
        )));
    }
    let hour_ago = now_unix() - 3600;
    let last_hour = recent.iter().filter(|p| p.created_at > hour_ago).count();
    if limits.hourly > 0 && last_hour >= limits.hourly as usize {
        return Ok(Some(format!(
            "prHourlyLimit: {last_hour} bot pull requests opened in the last hour (limit {})",
            limits.hourly
        )));
    }
    Ok(None)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The action a decision amounts to, and the reason in words.
pub(super) fn describe(decision: &Decision) -> (Action, String) {
    match decision {
        Decision::Create {
            merged_before: Some(n),
        } => (
            Action::Created,
            format!("#{n} was merged; a fresh pull request carries the new change"),
        ),
        Decision::Create { .. } => (Action::Created, "new change set".into()),
        Decision::Update { number } => (
            Action::Updated,
            format!("#{number} carries an older change set"),
        ),
        Decision::Unchanged { number } => (Action::Unchanged, format!("#{number} is up to date")),
        Decision::NoDrift { merged: Some(n) } => (
            Action::Unchanged,
            format!("#{n} was merged and the repository matches the recommendations"),
        ),
        Decision::NoDrift { merged: None } => (
            Action::Unchanged,
            "the repository matches the recommendations".into(),
        ),
        Decision::Close { number } => (
            Action::Closed,
            format!("#{number} is obsolete: the repository already has these values"),
        ),
        Decision::HumanCommit { number } => (
            Action::Skipped,
            match number {
                Some(n) => format!("someone else pushed to the branch of #{n}; it is theirs now"),
                None => "someone else pushed to the bot branch; it is theirs now".into(),
            },
        ),
        Decision::HumanClosed { number } => (
            Action::Skipped,
            format!("#{number} was closed by a human and the values have not moved enough since"),
        ),
    }
}

/// A decision ready to be carried out: the rendered texts when it commits, and the result so
/// far (the pushed branch, the change hash, the diff).
pub(super) struct Decided {
    pub decision: Decision,
    pub rendered: Option<body::Rendered>,
    pub result: RunResult,
}

/// Makes the forge writes `decided` needs; the result says what was done.
pub(super) async fn execute<F: Forge>(
    run: &Run<'_, F>,
    git: &mut GitWorker,
    remote: &RemoteState,
    decided: Decided,
) -> Result<RunResult, PrError> {
    let Decided {
        decision,
        rendered,
        mut result,
    } = decided;
    (result.action, result.reason) = describe(&decision);
    match (&decision, rendered) {
        (Decision::Create { .. }, Some(r)) => {
            let created = create(run, r).await?;
            result.number = Some(created.0);
            result.url = Some(created.1);
        }
        (Decision::Update { number }, Some(r)) => {
            run.gate(Write::Update)?;
            run.forge
                .update(&run.target.repo, *number, &r.title, &r.body)
                .await?;
        }
        (Decision::Close { number }, _) => {
            let note = "The repository already has the recommended values (someone applied \
                        them), so this pull request is obsolete. Closing it; Attune opens a new \
                        one if the recommendations move again.";
            comment_once(run, *number, note, CLOSE_NOTE).await?;
            run.gate(Write::Close)?;
            run.forge.close(&run.target.repo, *number).await?;
            if remote.bot_commit.is_some() {
                run.gate(Write::DeleteBranch)?;
                git.run(git_jobs::delete_branch(run.settings.branch.clone()))
                    .await?;
            }
        }
        (Decision::HumanCommit { number: Some(n) }, _) => {
            let note = format!(
                "Someone other than Attune pushed to `{}`, so Attune will not update this pull \
                 request any more. Close it and delete the branch to let Attune propose again.",
                run.settings.branch
            );
            comment_once(run, *n, &note, HUMAN_COMMIT_NOTE).await?;
        }
        _ => {}
    }
    if run.pr.is_none() && result.number.is_none() {
        result.url = None;
    }
    Ok(result)
}

/// Opens the pull request; its number and page.
async fn create<F: Forge>(run: &Run<'_, F>, r: body::Rendered) -> Result<(u64, String), PrError> {
    run.gate(Write::Create)?;
    let s = run.settings;
    let created = run
        .forge
        .create(
            &run.target.repo,
            &NewPullRequest {
                title: r.title,
                body: r.body,
                head: s.branch.clone(),
                base: run.target.base.clone(),
                draft: s.draft,
                labels: s.labels.clone(),
                reviewers: s.reviewers.clone(),
                team_reviewers: s.team_reviewers.clone(),
            },
        )
        .await?;
    Ok((created.number, created.url))
}

/// Comments `text` with its `mark` on pull request `number`, unless a comment has the mark.
async fn comment_once<F: Forge>(
    run: &Run<'_, F>,
    number: u64,
    text: &str,
    mark: &str,
) -> Result<(), PrError> {
    let said = run.forge.comments(&run.target.repo, number).await?;
    if said.iter().any(|c| c.contains(mark)) {
        return Ok(());
    }
    run.gate(Write::Comment)?;
    run.forge
        .comment(&run.target.repo, number, &format!("{text}\n\n{mark}"))
        .await?;
    Ok(())
}
