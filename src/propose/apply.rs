//! Applying a plan file by file. A file whose edits fail verification is not written; the
//! changes that caused it become problems and the others in that file are still applied.

use crate::repo::{FilePlan, Op, Plan, Problem, Repo};
use crate::yamledit::{self, EmbeddedSet, Set, YamlError};

use super::{FileChange, Outcome};

pub fn apply(repo: &Repo, plan: Plan) -> Outcome {
    let mut outcome = Outcome {
        problems: plan.problems,
        notices: plan.notices,
        ..Outcome::default()
    };
    outcome.notices.extend(repo.notices.iter().cloned());
    let mut failed = vec![false; plan.changes.len()];
    for (path, file_plan) in &plan.files {
        let before = repo.files.get(path).map(|f| f.text.as_str());
        if before.is_none() && file_plan.create.is_none() {
            continue;
        }
        match edit_file(before.unwrap_or(""), file_plan, &|_| true) {
            Ok(after) => push(&mut outcome, path, before, after),
            Err(_) => {
                // Find the changes that fail on their own and apply the rest together.
                let mut errors = Vec::new();
                for id in change_ids(file_plan) {
                    if let Err(e) = edit_file(before.unwrap_or(""), file_plan, &|c| c == id) {
                        errors.push((id, e));
                    }
                }
                for (id, _) in &errors {
                    failed[*id] = true;
                }
                let keep = |c: usize| !failed[c];
                match edit_file(before.unwrap_or(""), file_plan, &keep) {
                    Ok(after) => push(&mut outcome, path, before, after),
                    Err(e) => {
                        for id in change_ids(file_plan) {
                            if !failed[id] {
                                failed[id] = true;
                                errors.push((id, e.clone()));
                            }
                        }
                    }
                }
                for (id, e) in errors {
                    let c = &plan.changes[id];
                    outcome.problems.push(Problem {
                        namespace: c.namespace.clone(),
                        kind: c.kind.clone(),
                        workload: c.workload.clone(),
                        container: Some(c.container.clone()),
                        reason: reason(&c.file, c.field.name(), &e),
                    });
                }
            }
        }
    }
    outcome.changes = plan
        .changes
        .into_iter()
        .zip(failed)
        .filter(|(_, f)| !f)
        .map(|(c, _)| c)
        .collect();
    outcome
}

fn reason(file: &str, field: &str, e: &YamlError) -> String {
    match e {
        YamlError::Shared { .. } => format!("ambiguous: {field} in {file}: {e}"),
        _ => format!("cannot edit {field} in {file}: {e}"),
    }
}

fn push(outcome: &mut Outcome, path: &str, before: Option<&str>, after: String) {
    if before != Some(after.as_str()) {
        outcome.files.push(FileChange {
            path: path.to_owned(),
            before: before.map(str::to_owned),
            after,
        });
    }
}

fn change_ids(plan: &FilePlan) -> Vec<usize> {
    let mut ids: Vec<usize> = plan.ops.iter().filter_map(|(id, _)| *id).collect();
    ids.dedup();
    ids
}

/// Edits `text` with the supporting ops and the ops of the changes `keep` selects.
fn edit_file(
    text: &str,
    plan: &FilePlan,
    keep: &dyn Fn(usize) -> bool,
) -> Result<String, YamlError> {
    let mut sets: Vec<Set> = Vec::new();
    let mut embedded: Vec<EmbeddedSet> = Vec::new();
    for (id, op) in &plan.ops {
        if id.is_some_and(|id| !keep(id)) {
            continue;
        }
        match op {
            Op::Set(s) => sets.push(s.clone()),
            Op::Embedded(e) => embedded.push(e.clone()),
        }
    }
    match &plan.create {
        Some(style) => yamledit::set_values_styled(text, &sets, &embedded, style),
        None => yamledit::set_values(text, &sets, &embedded),
    }
}
