//! What the test subjects share: the real servers they talk to (the test control plane and its
//! node, Gitea, git over smart HTTP) and the in-memory forges that stand in where no real one
//! can run.

pub mod cluster;
pub mod controller_lock;
pub mod fake_server;
pub mod git_http;
pub mod gitea_repo;
pub mod github_fake;
pub mod gitlab_fake;
pub mod helm;
pub mod memory_forge;
pub mod node;
pub mod node_scene;
pub mod promql;
pub mod tiny_http;
