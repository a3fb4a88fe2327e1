//! One GitHub API request, authenticated for its repository and run through the retry policy:
//! the token's header, or an app installation token (replaced once when GitHub stops accepting
//! it). Writes that must not happen twice go through `call_once`, which hands a 5xx or a lost
//! connection back instead of retrying it (see `RetryPolicy::write_once`).

use http::{HeaderValue, Method, header};
use serde::{Deserialize, Serialize};

use super::answer::{classify, decode, transport};
use super::{Credentials, GitHub, bearer, now_unix};
use crate::forge::retry::Attempt;
use crate::forge::{ForgeError, ForgeRepo};

/// One API request as `call_with` sends it.
pub(super) struct Request<'a, B: ?Sized> {
    step: &'static str,
    method: &'a Method,
    path: &'a str,
    body: Option<&'a B>,
    /// Off for writes that must not be repeated blindly after a 5xx or a lost connection.
    retry_transient: bool,
}

impl GitHub {
    /// One API call: authenticates for `repo`, retries as the policy allows, returns the body of
    /// a 2xx answer. An app token GitHub no longer accepts (revoked, or clocks disagree about
    /// its expiry) is dropped and replaced once.
    pub(super) async fn call<B: Serialize + Sync + ?Sized>(
        &self,
        step: &'static str,
        repo: &ForgeRepo,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<String, ForgeError> {
        let request = Request {
            step,
            method: &method,
            path,
            body,
            retry_transient: true,
        };
        self.call_with(repo, &request).await
    }

    /// [`Self::call`] for a write that must not be repeated blindly: a 5xx or a lost
    /// connection is returned, not retried (see [`RetryPolicy::write_once`]).
    pub(super) async fn call_once<B: Serialize + Sync + ?Sized>(
        &self,
        step: &'static str,
        repo: &ForgeRepo,
        path: &str,
        body: &B,
    ) -> Result<String, ForgeError> {
        let request = Request {
            step,
            method: &Method::POST,
            path,
            body: Some(body),
            retry_transient: false,
        };
        self.call_with(repo, &request).await
    }

    async fn call_with<B: Serialize + Sync + ?Sized>(
        &self,
        repo: &ForgeRepo,
        request: &Request<'_, B>,
    ) -> Result<String, ForgeError> {
        let app = match &self.credentials {
            Credentials::Token(token) => {
                return self.send_with(request, &bearer(token.expose())?).await;
            }
            Credentials::App(app) => app,
        };
        let (token, fresh) = app.token(self, repo).await?;
        let result = self.send_with(request, &bearer(token.expose())?).await;
        match result {
            Err(ForgeError::Auth(_)) if !fresh => {
                app.forget_token(repo).await;
                let (token, _) = app.token(self, repo).await?;
                self.send_with(request, &bearer(token.expose())?).await
            }
            other => other,
        }
    }

    pub(super) async fn send<B: Serialize + Sync + ?Sized>(
        &self,
        step: &'static str,
        method: &Method,
        path: &str,
        body: Option<&B>,
        authorization: &HeaderValue,
    ) -> Result<String, ForgeError> {
        let request = Request {
            step,
            method,
            path,
            body,
            retry_transient: true,
        };
        self.send_with(&request, authorization).await
    }

    async fn send_with<B: Serialize + Sync + ?Sized>(
        &self,
        request: &Request<'_, B>,
        authorization: &HeaderValue,
    ) -> Result<String, ForgeError> {
        let step = request.step;
        self.policy
            .run(step, || async {
                let outcome = self
                    .attempt(
                        step,
                        request.method.clone(),
                        request.path,
                        request.body,
                        authorization,
                    )
                    .await;
                match outcome {
                    Err(Attempt::Transient(error)) if !request.retry_transient => {
                        Err(Attempt::Fatal(error))
                    }
                    other => other,
                }
            })
            .await
    }

    async fn attempt<B: Serialize + Sync + ?Sized>(
        &self,
        step: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
        authorization: &HeaderValue,
    ) -> Result<String, Attempt> {
        // A path without scheme and host: octocrab's base-URI layer joins it to the API root,
        // keeping GHE's `/api/v3` prefix.
        let builder = http::Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, authorization.clone())
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        let request = self.crab.build_request(builder, body).map_err(|e| {
            Attempt::Fatal(ForgeError::Decode {
                step,
                message: format!("cannot build the request: {e}"),
            })
        })?;
        let response = self
            .crab
            .execute(request)
            .await
            .map_err(|e| Attempt::Transient(transport(step, &e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = self
            .crab
            .body_to_string(response)
            .await
            .map_err(|e| Attempt::Transient(transport(step, &e)))?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(classify(step, status, &headers, &text, now_unix()))
        }
    }

    pub(super) async fn call_json<T, B>(
        &self,
        step: &'static str,
        repo: &ForgeRepo,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ForgeError>
    where
        T: for<'de> Deserialize<'de>,
        B: Serialize + Sync + ?Sized,
    {
        let text = self.call(step, repo, method, path, body).await?;
        decode(step, &text)
    }
}
