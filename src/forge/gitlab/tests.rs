//! The GitLab client's own rules: its roots, project addressing and auth headers.

use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

#[test]
fn web_and_api_roots_from_either_form_and_nested_groups_in_one_segment() {
    let token = || GitLabAuth::PrivateToken("glpat-t0ken".into());
    let self_managed = GitLab::new(
        Some(url("https://u:p@git.example.com/gitlab/api/v4/")),
        token(),
    )
    .unwrap();
    let repo = ForgeRepo::parse("group/sub/app").unwrap();
    assert_eq!(
        self_managed.api_base().as_str(),
        "https://git.example.com/gitlab/api/v4"
    );
    assert_eq!(
        self_managed.clone_url(&repo),
        "https://git.example.com/gitlab/group/sub/app.git"
    );
    assert_eq!(
        self_managed
            .project_url(&repo, &["merge_requests", "3"], &[])
            .as_str(),
        "https://git.example.com/gitlab/api/v4/projects/group%2Fsub%2Fapp/merge_requests/3"
    );
    let saas = GitLab::new(None, token()).unwrap();
    assert_eq!(
        saas.clone_url(&ForgeRepo::parse("a/b").unwrap()),
        "https://gitlab.com/a/b.git"
    );
    assert!(!format!("{saas:?}").contains("t0ken"));
    assert!(
        saas.check_repo(&repo).is_ok(),
        "nested groups are GitLab's own"
    );
    let refused = GitLab::new(Some(url("ftp://u:secret@x/")), token()).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "configure gitlab: cannot reach the forge: a ftp: url cannot reach gitlab; give its http(s) address"
    );
}

#[test]
fn access_tokens_go_in_private_token_and_others_as_bearer() {
    let pat = auth_header(&GitLabAuth::from_token("glpat-abcd".into())).unwrap();
    assert_eq!(pat.0.as_str(), "private-token");
    assert!(pat.1.is_sensitive());
    let oauth = auth_header(&GitLabAuth::from_token("0123abcd".into())).unwrap();
    assert_eq!(oauth.0, header::AUTHORIZATION);
    assert_eq!(oauth.1.to_str().unwrap(), "Bearer 0123abcd");
    assert!(auth_header(&GitLabAuth::OAuth("a\nb".into())).is_err());
    assert!(auth_header(&GitLabAuth::OAuth(" ".into())).is_err());
    assert_eq!(
        format!("{:?}", GitLabAuth::from_token("glpat-x".into())),
        "PrivateToken(..)"
    );
}
