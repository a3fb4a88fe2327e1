//! Files the fast reader must treat exactly like the reference reader: anchors, flow style,
//! several documents, a JSON 6902 patch that names no kind, kinds spelt with escapes, broken
//! YAML, a template, CRLF, non-ASCII and non-UTF-8 text. Some of them are recommended workloads, so they are edited or
//! reported, not only read.

use super::{Ctr, Gen, Res};

impl Gen {
    pub(super) fn oddities(&mut self, i: usize) -> Res<()> {
        let dir = format!("odd/set-{i:02}");
        let cpu = |c: &'static str| Ctr {
            name: "app",
            image: "ghcr.io/acme/odd:1",
            cpu: Some(c),
            mem: Some("256Mi"),
            mem_limit: None,
        };
        // An anchor shared by two containers (a problem, not an edit) and one used once.
        let name = format!("anchored-{i}");
        self.write(
            &format!("{dir}/anchored.yaml"),
            &format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: odd\n\
                 spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        \
                 resources: &res\n          requests:\n            cpu: 100m\n            memory: 256Mi\n      \
                 - name: envoy\n        resources: *res\n"
            ),
        )?;
        self.policy("odd", "Deployment", &name, &[cpu("100m")], false);
        // Flow style, and a second document after `...`.
        let name = format!("flow-{i}");
        self.write(
            &format!("{dir}/flow.yaml"),
            &format!(
                "{{apiVersion: apps/v1, kind: Deployment, metadata: {{name: {name}, namespace: odd}},\n \
                 spec: {{template: {{spec: {{containers: [{{name: app, resources: {{requests: {{cpu: 100m,\n \
                 memory: 256Mi}}}}}}]}}}}}}}}\n...\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {{name: x}}\n"
            ),
        )?;
        self.policy("odd", "Deployment", &name, &[cpu("100m")], false);
        // Three documents, the workload last, CRLF line ends.
        let name = format!("multi-{i}");
        let (w, ctrs) = self.workload_doc("StatefulSet", &name, "odd", 0);
        let text = format!(
            "# three documents\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: \"1\"\n---\n{w}"
        );
        self.write(&format!("{dir}/multi.yaml"), &text.replace('\n', "\r\n"))?;
        self.policy("odd", "StatefulSet", &name, &ctrs, false);
        // A kustomization whose JSON 6902 patch names no kind, and a patch file in the old
        // `patchesStrategicMerge` list.
        let name = format!("json-{i}");
        let (w, ctrs) = self.workload_doc("Deployment", &name, "odd", 0);
        self.write(&format!("{dir}/app/deployment.yaml"), &w)?;
        self.write(
            &format!("{dir}/app/cpu.yaml"),
            "- op: replace\n  path: /spec/template/spec/containers/0/resources/requests/cpu\n  value: 900m\n",
        )?;
        self.write(
            &format!("{dir}/app/limits.yaml"),
            &format!("{{kind: \"Deploy\\u006dent\", metadata: {{name: {name}}}}}\n"),
        )?;
        self.write(
            &format!("{dir}/app/kustomization.yaml"),
            &format!(
                "resources: [deployment.yaml]\npatchesStrategicMerge:\n- limits.yaml\npatchesJson6902:\n\
                 - target: {{group: apps, version: v1, kind: Deployment, name: {name}}}\n  path: cpu.yaml\n"
            ),
        )?;
        self.policy("odd", "Deployment", &name, &ctrs, false);
        // Kinds no textual search finds: spelt with escapes in double-quoted scalars, one a
        // plain manifest, one a StatefulSet joined across a line by an escaped line break.
        let name = format!("escaped-{i}");
        let (w, ctrs) = self.workload_doc("Deployment", &name, "odd", 0);
        let w = w.replacen("kind: Deployment", "kind: \"Deploy\\u006dent\"", 1);
        self.write(&format!("{dir}/escaped.yaml"), &w)?;
        self.policy("odd", "Deployment", &name, &ctrs, false);
        let name = format!("joined-{i}");
        let (w, ctrs) = self.workload_doc("StatefulSet", &name, "odd", 0);
        let w = w.replacen("kind: StatefulSet", "kind: \"Stateful\\\n  Set\"", 1);
        self.write(&format!("{dir}/joined.yaml"), &w)?;
        self.policy("odd", "StatefulSet", &name, &ctrs, false);
        // Broken files: one that could hold a workload, one that could not, a tab, a template,
        // non-ASCII text, text that is not UTF-8, a marker in flow style.
        self.write(
            &format!("{dir}/broken-workload.yaml"),
            "kind: Deployment\nmetadata:\n  name: broken\n bad: indent\n",
        )?;
        self.write(&format!("{dir}/broken.yaml"), "data:\n  key: [unclosed\n")?;
        self.write(&format!("{dir}/tabbed.yaml"), "data:\n\tkey: value\n")?;
        self.write(
            &format!("{dir}/unicode.yaml"),
            "data:\n  greeting: grüße – ok\n",
        )?;
        self.write(
            &format!("{dir}/template.yaml"),
            "kind: ConfigMap\ndata: {{ .Values.data }}\n",
        )?;
        self.write_bytes(&format!("{dir}/latin1.yaml"), b"data:\n  name: caf\xe9\n")?;
        self.write(
            &format!("{dir}/values.yaml"),
            &format!(
                "resources: {{requests: {{cpu: 250m}}}} # {{\"$attune\": \"odd/marked-{i}:web:cpu-request\"}}\n\
                 # $attune but not a marker\n"
            ),
        )?;
        Ok(())
    }
}
