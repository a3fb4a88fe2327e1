//! The regular layouts of the generated repository.

use std::fmt::Write as _;

use super::{Ctr, Gen, Res, containers};

impl Gen {
    /// A Kustomize app: base + staging (usually) + production overlays. Returns the number of
    /// workloads recommended.
    pub(super) fn kustomize_app(&mut self, i: usize, staging_rec: bool) -> Res<usize> {
        let name = format!("app-{i:03}");
        let dir = format!("apps/{name}");
        let ctrs = containers(&mut self.rng, "ghcr.io/acme/app:2.14.0");
        let mut deploy = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    \
             app.kubernetes.io/name: {name}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      \
             app.kubernetes.io/name: {name}\n  template:\n    metadata:\n      labels:\n        \
             app.kubernetes.io/name: {name}\n    spec:\n      containers:\n"
        );
        for c in &ctrs {
            deploy.push_str(&c.yaml(6));
        }
        self.write(&format!("{dir}/base/deployment.yaml"), &deploy)?;
        self.write(
            &format!("{dir}/base/service.yaml"),
            &format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    \
                 app.kubernetes.io/name: {name}\n  ports:\n  - name: http\n    port: 80\n    \
                 targetPort: 8080\n"
            ),
        )?;
        let mut props = String::new();
        for k in 0..(5 + self.rng.below(20)) {
            let _ = writeln!(props, "    {name}.setting{k}=value-{k}: {{not: yaml}}");
        }
        self.write(
            &format!("{dir}/base/configmap.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  \
                 app.properties: |\n{props}  LOG_LEVEL: info\n"
            ),
        )?;
        self.write(
            &format!("{dir}/base/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n\
             - deployment.yaml\n- service.yaml\n- configmap.yaml\n",
        )?;

        let replicas = |n: usize| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  \
                 replicas: {n}\n"
            )
        };
        let has_staging = !self.rng.pct(10);
        let mut recommended = 0;
        if has_staging {
            self.write(
                &format!("{dir}/overlays/staging/replicas.yaml"),
                &replicas(1),
            )?;
            self.write(
                &format!("{dir}/overlays/staging/kustomization.yaml"),
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                 namespace: staging\nresources:\n- ../../base\npatches:\n- path: replicas.yaml\n",
            )?;
            if staging_rec {
                self.policy("staging", "Deployment", &name, &ctrs, false);
                recommended += 1;
            }
        }

        // Production: a namePrefix sometimes, and one way of already setting resources.
        let prefix = if self.rng.pct(25) { "prod-" } else { "" };
        let mut eff = ctrs.clone();
        let mut kust = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             namespace: production\n{}resources:\n- ../../base\n",
            if prefix.is_empty() {
                String::new()
            } else {
                format!("namePrefix: {prefix}\n")
            }
        );
        let mut patches = vec!["- path: replicas.yaml\n".to_owned()];
        self.write(
            &format!("{dir}/overlays/production/replicas.yaml"),
            &replicas(4),
        )?;
        let app_patch = |cpu: &str, mem: Option<&str>, lim: Option<&str>, indent: usize| {
            let p = " ".repeat(indent);
            let mut s = format!(
                "{p}apiVersion: apps/v1\n{p}kind: Deployment\n{p}metadata:\n{p}  name: {name}\n\
                 {p}spec:\n{p}  template:\n{p}    spec:\n{p}      containers:\n{p}      \
                 - name: app\n{p}        resources:\n{p}          requests:\n{p}            \
                 cpu: \"{cpu}\"\n"
            );
            if let Some(m) = mem {
                let _ = writeln!(s, "{p}            memory: {m}");
            }
            if let Some(l) = lim {
                let _ = writeln!(s, "{p}          limits:\n{p}            memory: {l}");
            }
            s
        };
        match self.rng.below(10) {
            0..=2 => {
                // An existing resources patch file setting the app's cpu.
                self.write(
                    &format!("{dir}/overlays/production/resources.yaml"),
                    &format!(
                        "# Production runs hotter than staging.\n{}",
                        app_patch("1", None, None, 0)
                    ),
                )?;
                patches.push("- path: resources.yaml\n".to_owned());
                eff[0].cpu = Some("1");
            }
            3..=4 => {
                // An inline patch with a target.
                patches.push(format!(
                    "- target:\n    kind: Deployment\n    name: {name}\n  patch: |\n{}",
                    app_patch("2", Some("1Gi"), None, 4)
                ));
                eff[0].cpu = Some("2");
                eff[0].mem = Some("1Gi");
            }
            5 => {
                // A component (production only) whose patch sets the app's resources.
                let comp = format!("{dir}/components/large");
                self.write(
                    &format!("{comp}/resources.yaml"),
                    &app_patch("2", Some("4Gi"), Some("4Gi"), 0),
                )?;
                self.write(
                    &format!("{comp}/kustomization.yaml"),
                    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n\
                     - path: resources.yaml\n",
                )?;
                kust.push_str("components:\n- ../../components/large\n");
                eff[0].cpu = Some("2");
                eff[0].mem = Some("4Gi");
                eff[0].mem_limit = Some("4Gi");
            }
            _ => {}
        }
        kust.push_str("patches:\n");
        for p in &patches {
            kust.push_str(p);
        }
        self.write(
            &format!("{dir}/overlays/production/kustomization.yaml"),
            &kust,
        )?;
        self.policy(
            "production",
            "Deployment",
            &format!("{prefix}{name}"),
            &eff,
            false,
        );
        Ok(recommended + 1)
    }

    pub(super) fn workload_doc(
        &mut self,
        kind: &str,
        name: &str,
        ns: &str,
        indent: usize,
    ) -> (String, Vec<Ctr>) {
        let ctrs = containers(&mut self.rng, "ghcr.io/acme/svc:1.0.0");
        let p = " ".repeat(indent);
        let mut s = format!(
            "apiVersion: apps/v1\n{p}kind: {kind}\n{p}metadata:\n{p}  name: {name}\n{p}  \
             namespace: {ns}\n{p}spec:\n"
        );
        if kind != "DaemonSet" {
            let _ = writeln!(s, "{p}  replicas: 2");
        }
        if kind == "StatefulSet" {
            let _ = writeln!(s, "{p}  serviceName: {name}");
        }
        let _ = write!(
            s,
            "{p}  selector:\n{p}    matchLabels:\n{p}      app: {name}\n{p}  template:\n{p}    \
             metadata:\n{p}      labels:\n{p}        app: {name}\n{p}    spec:\n{p}      containers:\n"
        );
        for c in &ctrs {
            s.push_str(&c.yaml(indent + 6));
        }
        (s, ctrs)
    }

    fn service_doc(name: &str, ns: &str, indent: usize) -> String {
        let p = " ".repeat(indent);
        format!(
            "apiVersion: v1\n{p}kind: Service\n{p}metadata:\n{p}  name: {name}\n{p}  namespace: {ns}\n\
             {p}spec:\n{p}  selector:\n{p}    app: {name}\n{p}  ports:\n{p}  - port: 80\n{p}    \
             targetPort: 8080\n"
        )
    }

    /// A plain multi-document file: workload + Service (+ ConfigMap sometimes).
    pub(super) fn plain(&mut self, i: usize, recommend: bool) -> Res<()> {
        let kind = match self.rng.below(20) {
            0..=1 => "StatefulSet",
            2 => "DaemonSet",
            _ => "Deployment",
        };
        let name = format!("svc-{i:04}");
        let (w, ctrs) = self.workload_doc(kind, &name, "plain", 0);
        let mut text = format!("# {name}: owned by team-{}\n---\n{w}---\n", i % 25);
        text.push_str(&Self::service_doc(&name, "plain", 0));
        if self.rng.pct(40) {
            let _ = write!(
                text,
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-env\n  namespace: plain\n\
                 data:\n  MODE: production\n"
            );
        }
        self.write(&format!("plain/team-{:02}/{name}.yaml", i % 25), &text)?;
        if recommend {
            self.policy("plain", kind, &name, &ctrs, false);
        }
        Ok(())
    }

    /// A `kind: List` file with a Service and a Deployment.
    pub(super) fn list(&mut self, i: usize) -> Res<()> {
        let name = format!("list-svc-{i:03}");
        let (w, ctrs) = self.workload_doc("Deployment", &name, "plain", 2);
        let text = format!(
            "apiVersion: v1\nkind: List\nitems:\n- {}- {}",
            Self::service_doc(&name, "plain", 2),
            w
        );
        self.write(&format!("lists/{name}.yaml"), &text)?;
        self.policy("plain", "Deployment", &name, &ctrs, false);
        Ok(())
    }

    /// A Helm chart (templates with `{{`) and production/staging values files; production
    /// carries `$attune` markers.
    pub(super) fn helm(&mut self, i: usize) -> Res<()> {
        let name = format!("helm-{i:03}");
        let chart = format!("charts/{name}");
        self.write(
            &format!("{chart}/Chart.yaml"),
            &format!(
                "apiVersion: v2\nname: {name}\ndescription: chart {i}\ntype: application\n\
                 version: 0.7.{i}\nappVersion: \"5.2.0\"\n"
            ),
        )?;
        self.write(
            &format!("{chart}/values.yaml"),
            "replicaCount: 1\nimage:\n  repository: ghcr.io/acme/web\n  tag: \"\"\nresources: {}\n",
        )?;
        self.write(
            &format!("{chart}/templates/deployment.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"web.fullname\" . }}\n\
             spec:\n  replicas: {{ .Values.replicaCount }}\n  template:\n    spec:\n      containers:\n\
             \x20       - name: web\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n\
             \x20         resources:\n            {{- toYaml .Values.resources | nindent 12 }}\n",
        )?;
        self.write(
            &format!("{chart}/templates/service.yaml"),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"web.fullname\" . }}\n\
             spec:\n  ports:\n  - port: {{ .Values.service.port }}\n",
        )?;
        self.write(
            &format!("{chart}/templates/_helpers.tpl"),
            "{{- define \"web.fullname\" -}}\n{{- .Release.Name | trunc 63 }}\n{{- end }}\n",
        )?;
        let c = Ctr::random(&mut self.rng, "web", "ghcr.io/acme/web");
        let c = Ctr {
            cpu: c.cpu.or(Some("500m")),
            mem: c.mem.or(Some("512Mi")),
            ..c
        };
        let marker = |field: &str| format!("# {{\"$attune\": \"production/{name}:web:{field}\"}}");
        let mut values = format!(
            "# Production values for {name} (Argo CD: helm.valueFiles).\nreplicaCount: 4\nimage:\n  \
             repository: ghcr.io/acme/web\n  tag: \"5.2.0\"\nresources:\n  requests:\n    \
             cpu: {} {}\n    memory: {} {}\n",
            c.cpu.unwrap_or("1"),
            marker("cpu-request"),
            c.mem.unwrap_or("1Gi"),
            marker("memory-request")
        );
        if let Some(l) = c.mem_limit {
            let _ = write!(
                values,
                "  limits:\n    memory: {l} {}\n",
                marker("memory-limit")
            );
        }
        self.write(
            &format!("environments/production/{name}-values.yaml"),
            &values,
        )?;
        self.write(
            &format!("environments/staging/{name}-values.yaml"),
            "replicaCount: 1\nresources:\n  requests:\n    cpu: 100m\n    memory: 128Mi\n",
        )?;
        self.policy("production", "Deployment", &name, &[c], true);
        Ok(())
    }

    /// Filler without recommended workloads: ConfigMaps, Services, CRDs, RBAC, and a few
    /// unrecommended Deployments.
    pub(super) fn filler(&mut self, i: usize) -> Res<()> {
        let area = i % 40;
        let name = format!("filler-{i:05}");
        let text = match self.rng.below(100) {
            0..=49 => {
                let mut s = format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: infra\n  \
                     labels:\n    app.kubernetes.io/part-of: platform\ndata:\n"
                );
                for k in 0..(3 + self.rng.below(30)) {
                    let _ = writeln!(s, "  key-{k}: \"value {k} for {name}\"");
                }
                if self.rng.pct(30) {
                    s.push_str(
                        "  config.yaml: |\n    server:\n      port: 8080\n      tls: true\n",
                    );
                }
                s
            }
            50..=74 => Self::service_doc(&name, "infra", 0),
            75..=79 => {
                let mut s = format!(
                    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
                     name: widgets{i}.example.com\nspec:\n  group: example.com\n  names:\n    \
                     kind: Widget{i}\n    plural: widgets{i}\n  scope: Namespaced\n  versions:\n  \
                     - name: v1\n    served: true\n    storage: true\n    schema:\n      \
                     openAPIV3Schema:\n        type: object\n        properties:\n"
                );
                for k in 0..(20 + self.rng.below(200)) {
                    let _ = write!(
                        s,
                        "          field{k}:\n            type: string\n            \
                         description: \"Field {k} of the widget; free text, 'quoted' and: colons\"\n"
                    );
                }
                s
            }
            80..=89 => format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {name}\n  \
                 namespace: infra\nrules:\n- apiGroups: [\"\"]\n  resources: [\"configmaps\", \"secrets\"]\n  \
                 verbs: [\"get\", \"list\", \"watch\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\n\
                 kind: RoleBinding\nmetadata:\n  name: {name}\n  namespace: infra\nroleRef:\n  \
                 apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {name}\nsubjects:\n\
                 - kind: ServiceAccount\n  name: {name}\n  namespace: infra\n"
            ),
            _ => self.workload_doc("Deployment", &name, "infra", 0).0,
        };
        self.write(&format!("platform/area-{area:02}/{name}.yaml"), &text)
    }
}
