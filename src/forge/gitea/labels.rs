//! Gitea labels by name: Gitea takes label ids, allows two labels of one name, and has no
//! create-if-missing, so this finds the ids, creates what is missing, and settles the race of
//! two runs creating the same label at once.

use http::Method;
use serde_json::json;

use super::wire::ApiLabel;
use super::{Gitea, LABEL_COLOR, MAX_PAGES, PAGE};
use crate::forge::rest::decode;
use crate::forge::{ForgeError, ForgeRepo};

impl Gitea {
    /// Label ids for `names`, creating the ones the repository lacks.
    pub(super) async fn label_ids(
        &self,
        repo: &ForgeRepo,
        names: &[String],
    ) -> Result<Vec<i64>, ForgeError> {
        let found = self.labels_named(repo, names).await?;
        let mut resolved = Vec::with_capacity(names.len());
        for (name, ids) in names.iter().zip(found) {
            // Gitea allows duplicate names; the oldest one wins, here and in `create_label`.
            let id = match ids.first() {
                Some(id) => *id,
                None => self.create_label(repo, name).await?,
            };
            if !resolved.contains(&id) {
                resolved.push(id);
            }
        }
        Ok(resolved)
    }

    /// For each of `names`, the ids of the labels so named, oldest (lowest) first. Reads pages
    /// until every name was seen or the pages run out.
    async fn labels_named(
        &self,
        repo: &ForgeRepo,
        names: &[String],
    ) -> Result<Vec<Vec<i64>>, ForgeError> {
        const STEP: &str = "look up labels";
        let mut ids: Vec<Vec<i64>> = vec![Vec::new(); names.len()];
        let page_size = PAGE.to_string();
        for page in 1..=MAX_PAGES {
            let page_text = page.to_string();
            let url = self.url(
                repo,
                &["labels"],
                &[("limit", &page_size), ("page", &page_text)],
            );
            let answer = self.rest.send(STEP, Method::GET, &url, None, true).await?;
            let labels: Vec<ApiLabel> = decode(STEP, &answer.body)?;
            let full = labels.len() >= PAGE;
            for label in labels {
                for (name, found) in names.iter().zip(ids.iter_mut()) {
                    if *name == label.name {
                        found.push(label.id);
                    }
                }
            }
            if !full || ids.iter().all(|found| !found.is_empty()) {
                break;
            }
        }
        for found in &mut ids {
            found.sort_unstable();
        }
        Ok(ids)
    }

    /// Creates the label `name`, settling the race with another run that creates it at the same
    /// moment (two pull requests opened at once): Gitea keeps both, so after the create the
    /// labels are read again, and every run uses the oldest of that name; a newer copy this
    /// call made is deleted. A create Gitea refuses as a conflict means it exists: its id is read.
    async fn create_label(&self, repo: &ForgeRepo, name: &str) -> Result<i64, ForgeError> {
        const STEP: &str = "create label";
        let url = self.url(repo, &["labels"], &[]);
        let body = json!({"name": name, "color": LABEL_COLOR, "description": "added by attune"});
        let mine = match self
            .rest
            .send(STEP, Method::POST, &url, Some(&body), true)
            .await
        {
            Ok(answer) => Ok(decode::<ApiLabel>(STEP, &answer.body)?.id),
            Err(
                e @ ForgeError::Status {
                    status: 409 | 422, ..
                },
            ) => Err(e),
            Err(e) => return Err(e),
        };
        let names = [name.to_owned()];
        let oldest = self
            .labels_named(repo, &names)
            .await?
            .pop()
            .and_then(|ids| ids.first().copied());
        match (mine, oldest) {
            (Ok(mine), Some(oldest)) if oldest < mine => {
                self.delete_label(repo, mine).await?;
                tracing::info!(repo = %repo, label = name, id = oldest, "another run created the label first; using it");
                Ok(oldest)
            }
            (Ok(mine), _) => {
                tracing::info!(repo = %repo, label = name, id = mine, "created a missing label");
                Ok(mine)
            }
            (Err(_), Some(oldest)) => Ok(oldest),
            (Err(refused), None) => Err(refused),
        }
    }

    async fn delete_label(&self, repo: &ForgeRepo, id: i64) -> Result<(), ForgeError> {
        let id = id.to_string();
        let url = self.url(repo, &["labels", &id], &[]);
        match self
            .rest
            .send("remove a duplicate label", Method::DELETE, &url, None, true)
            .await
        {
            Ok(_) | Err(ForgeError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
