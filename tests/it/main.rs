//! The integration tests, one module per subject, in one test binary: every integration test
//! binary links the whole dependency tree (kube, octocrab, git2, rustls), so one binary instead
//! of one per file saves minutes of linking and gigabytes of disk on a CI machine.
//!
//! Run a subject alone with a name filter, e.g. `tests/run -- controller_e2e::`.
//! `support` holds the servers and fakes the subjects share.

// Tests may panic on the unexpected; the crate-wide lints are for library code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod chart;
mod chart_argocd;
mod chart_cluster;
mod chart_image;
mod chart_install;
mod chart_monitoring;
mod chart_schema;
mod cluster_harness;
mod controller_cli;
mod controller_conditions;
mod controller_e2e;
mod controller_fields;
mod controller_gitops;
mod controller_gitops_cluster;
mod controller_gitops_gate;
mod controller_gitops_helm;
mod controller_gitops_helm_flux;
mod controller_gitops_token;
mod controller_leader;
mod controller_rbac;
mod controller_recommend;
mod controller_recommend_loop;
mod controller_serve;
mod crd_generated;
mod crd_load;
mod crd_status;
mod crd_validation;
mod discover;
mod forge_gitea;
mod forge_github;
mod forge_github_faults;
mod forge_gitlab;
mod forge_gitlab_faults;
mod git_read_budget;
mod git_workspace;
mod golden;
mod locate_cluster;
mod node_canary;
mod node_deferred;
mod node_guardrails;
mod node_resize;
mod node_revert;
mod plugin_cluster;
mod plugin_format;
mod plugin_pr;
mod plugin_propose;
mod pr_discover;
mod pr_evidence;
mod pr_gitea;
mod pr_github;
mod pr_gitlab;
mod pr_helm;
mod pr_leadership;
mod pr_lifecycle;
mod propose_bad_input;
mod propose_bench_check;
mod propose_fast_path;
mod propose_scoped;
mod propose_untrusted;
mod quantity_parse;
mod quantity_props;
mod render_oracle;
mod usage_prometheus;
mod yamledit_edits;
mod yamledit_props;
