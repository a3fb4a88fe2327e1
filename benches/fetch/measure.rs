//! One lifecycle-style run against the git cache: open, list the remote, fetch if the tip is new.

use std::path::Path;
use std::time::{Duration, Instant};

use attune::git::{Credentials, FetchStats, Workspace};

use crate::{Context, Res, TOKEN, USER};

/// One lifecycle-style run against the cache in `cache`.
pub struct Measured {
    /// `Workspace::open` + `remote_heads`: what every run pays.
    pub heads: Duration,
    /// The remote tip was already in the cache, so the lifecycle would not fetch.
    pub tip_known: bool,
    pub fetch: Option<(FetchStats, Duration)>,
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn measure(
    cache: &Path,
    url: &str,
    depth: Option<i32>,
    fetch_anyway: bool,
    expect: &str,
) -> Res<Measured> {
    let creds = Credentials {
        username: USER.to_owned(),
        token: TOKEN.into(),
    };
    let t = Instant::now();
    let ws = Workspace::open(cache, url, Some(creds)).ctx("opening the cache")?;
    let heads = ws.remote_heads().ctx("listing the remote")?;
    let heads_time = t.elapsed();
    let tip = *heads.get("main").ctx("the remote has no main branch")?;
    if tip.to_string() != expect {
        return Err(format!("the remote lists main at {tip}, the repository has {expect}").into());
    }
    // The lifecycle's test (src/pr/sync.rs): fetch only a tip the cache does not have.
    let tip_known = ws.has_commit(tip);
    let fetch = if tip_known && !fetch_anyway {
        None
    } else {
        let t = Instant::now();
        let stats = ws.fetch(&["main"], depth).ctx("fetching main")?;
        let took = t.elapsed();
        if ws.fetched("main") != Some(tip) || !ws.has_commit(tip) {
            return Err(format!("after the fetch the cache does not have main at {tip}").into());
        }
        Some((stats, took))
    };
    Ok(Measured {
        heads: heads_time,
        tip_known,
        fetch,
    })
}
