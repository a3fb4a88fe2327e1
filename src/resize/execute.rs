//! Sends a plan to the API server: for each pod to resize, a strategic merge patch to
//! `pods/resize` and then, only once that is accepted, a metadata patch with the tracking
//! annotations. Answers are mapped, not judged: 422 is the server refusing this resize (kept
//! as a `Rejected` skip with its message), 409 gets one more try on a freshly read pod, 403
//! stops the run with the permission that is missing. Pods are resized one after the other.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::ResizeError;
use super::context::Context;
use super::decision::{Change, Decision, Plan, Resize, Skip, SkipReason};

/// What happened to one pod.
#[derive(Debug)]
pub enum Outcome {
    /// The API server accepted the resize. `annotation_error` says why the tracking
    /// annotations could not be written, if they could not.
    Resized {
        pod: String,
        changes: Vec<Change>,
        annotation_error: Option<String>,
    },
    /// Not resized: the plan's reason, or the server's (`Rejected`, `Gone`, or what a fresh
    /// look after a conflict found).
    Skipped { pod: String, skip: Skip },
    /// The resize call failed for another reason; the next pod is still tried.
    Failed { pod: String, error: ResizeError },
}

impl Outcome {
    pub fn pod(&self) -> &str {
        match self {
            Outcome::Resized { pod, .. }
            | Outcome::Skipped { pod, .. }
            | Outcome::Failed { pod, .. } => pod,
        }
    }
}

/// The outcomes in plan order, up to the pod where the run stopped, if it stopped.
#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    /// Set when the run stopped early: missing permissions fail for every pod alike.
    pub stopped: Option<ResizeError>,
}

/// How the API server answered, in the terms this module acts on.
enum Answer {
    Invalid(String),
    Conflict(String),
    Forbidden(String),
    NotFound,
    Other(kube::Error),
}

fn classify(error: kube::Error) -> Answer {
    match &error {
        kube::Error::Api(status) => match status.code {
            422 => Answer::Invalid(status.message.clone()),
            409 => Answer::Conflict(status.message.clone()),
            403 => Answer::Forbidden(status.message.clone()),
            404 => Answer::NotFound,
            _ => Answer::Other(error),
        },
        _ => Answer::Other(error),
    }
}

/// Runs every resize of `plan` through `api` (a namespaced `Api<Pod>` for the pods' namespace).
pub async fn execute(api: &Api<Pod>, ctx: &Context, plan: &Plan) -> Report {
    let mut report = Report::default();
    for planned in &plan.pods {
        let pod = planned.pod.clone();
        let outcome = match &planned.decision {
            Decision::Skip(skip) => Ok(Outcome::Skipped {
                pod,
                skip: skip.clone(),
            }),
            Decision::Resize(resize) => resize_pod(api, ctx, &pod, resize).await,
        };
        match outcome {
            Ok(outcome) => report.outcomes.push(outcome),
            Err(stop) => {
                report.stopped = Some(stop);
                break;
            }
        }
    }
    report
}

/// One pod: resize, then annotate. `Err` only for what must stop the whole run.
async fn resize_pod(
    api: &Api<Pod>,
    ctx: &Context,
    pod: &str,
    resize: &Resize,
) -> Result<Outcome, ResizeError> {
    let first = match send_resize(api, pod, resize).await {
        Ok(()) => return annotate(api, pod, resize).await,
        Err(answer) => answer,
    };
    let conflict = match first {
        Answer::Conflict(message) => message,
        other => return settle(pod, other),
    };
    // Someone changed the pod between our read and the patch: decide again on what is there
    // now (it may be deleting, resizing or already at target) and try once more.
    let fresh = match api.get(pod).await {
        Ok(fresh) => fresh,
        // Not `settle`: a refused read is about `get pods`, not about `pods/resize`.
        Err(error) => {
            return Ok(match classify(error) {
                Answer::NotFound => Outcome::Skipped {
                    pod: pod.to_owned(),
                    skip: Skip::new(SkipReason::Gone, "pod not found"),
                },
                Answer::Other(source) => read_failed(pod, source),
                Answer::Invalid(message)
                | Answer::Conflict(message)
                | Answer::Forbidden(message) => Outcome::Failed {
                    pod: pod.to_owned(),
                    error: ResizeError::Reread {
                        pod: pod.to_owned(),
                        message,
                    },
                },
            });
        }
    };
    let again = match ctx.assess(&fresh) {
        Decision::Skip(skip) => {
            return Ok(Outcome::Skipped {
                pod: pod.to_owned(),
                skip,
            });
        }
        Decision::Resize(again) => again,
    };
    match send_resize(api, pod, &again).await {
        Ok(()) => annotate(api, pod, &again).await,
        Err(Answer::Conflict(message)) => Ok(Outcome::Failed {
            pod: pod.to_owned(),
            error: ResizeError::Conflict {
                pod: pod.to_owned(),
                message: format!("{conflict}; after a fresh read: {message}"),
            },
        }),
        Err(other) => settle(pod, other),
    }
}

fn read_failed(pod: &str, source: kube::Error) -> Outcome {
    Outcome::Failed {
        pod: pod.to_owned(),
        error: ResizeError::Api {
            pod: pod.to_owned(),
            action: "read after a conflict",
            source,
        },
    }
}

async fn send_resize(api: &Api<Pod>, pod: &str, resize: &Resize) -> Result<(), Answer> {
    api.patch_resize(
        pod,
        &PatchParams::default(),
        &Patch::Strategic(&resize.patch),
    )
    .await
    .map(drop)
    .map_err(classify)
}

/// Turns a failed resize call into the pod's outcome, or into the error that stops the run.
fn settle(pod: &str, answer: Answer) -> Result<Outcome, ResizeError> {
    let pod = pod.to_owned();
    match answer {
        Answer::Invalid(message) => Ok(Outcome::Skipped {
            pod,
            skip: Skip::new(SkipReason::Rejected, message),
        }),
        Answer::NotFound => Ok(Outcome::Skipped {
            pod,
            skip: Skip::new(SkipReason::Gone, "pod not found"),
        }),
        Answer::Forbidden(message) => Err(ResizeError::ResizeForbidden { pod, message }),
        Answer::Conflict(message) => Ok(Outcome::Failed {
            error: ResizeError::Conflict {
                pod: pod.clone(),
                message,
            },
            pod,
        }),
        Answer::Other(source) => Ok(Outcome::Failed {
            error: ResizeError::Api {
                pod: pod.clone(),
                action: "resize",
                source,
            },
            pod,
        }),
    }
}

/// The tracking annotations, by a JSON merge patch of `metadata.annotations` only. A failure
/// here does not undo the resize; it is reported on the outcome, except a 403, which stops.
async fn annotate(api: &Api<Pod>, pod: &str, resize: &Resize) -> Result<Outcome, ResizeError> {
    let body = json!({ "metadata": { "annotations": resize.annotations } });
    let annotation_error = match api
        .patch(pod, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(_) => None,
        Err(error) => match classify(error) {
            Answer::Forbidden(message) => {
                return Err(ResizeError::AnnotateForbidden {
                    pod: pod.to_owned(),
                    message,
                });
            }
            Answer::Invalid(message) | Answer::Conflict(message) => Some(message),
            Answer::NotFound => Some("pod not found".to_owned()),
            Answer::Other(error) => Some(error.to_string()),
        },
    };
    Ok(Outcome::Resized {
        pod: pod.to_owned(),
        changes: resize.changes.clone(),
        annotation_error,
    })
}
