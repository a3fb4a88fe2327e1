//! What the walk needs to know about the cluster's Argo CD that the objects do not say.

/// Argo CD settings that shape how a tracking id is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Control-plane namespaces of the Argo CD instances to trust. A tracking id whose app part
    /// is a bare `<name>` names an Application in its instance's control-plane namespace; with
    /// several instances the walk looks in each and refuses a name found in more than one.
    pub argocd_namespaces: Vec<String>,
    /// The instance's `installationID`, when set in `argocd-cm`: objects stamped with another
    /// installation id belong to another Argo CD.
    pub installation_id: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            argocd_namespaces: vec!["argocd".to_owned()],
            installation_id: None,
        }
    }
}
