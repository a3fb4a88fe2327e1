//! A unified diff that `git apply` accepts: `a/`/`b/` prefixes, `/dev/null` for new files and
//! the "no newline" hint.

use similar::TextDiff;

use super::FileChange;

pub fn unified(files: &[FileChange]) -> String {
    let mut out = String::new();
    for f in files {
        let before = f.before.as_deref().unwrap_or("");
        let old_header = if f.before.is_some() {
            format!("a/{}", f.path)
        } else {
            "/dev/null".to_owned()
        };
        let diff = TextDiff::from_lines(before, f.after.as_str());
        out.push_str(&format!("diff --git a/{0} b/{0}\n", f.path));
        if f.before.is_none() {
            out.push_str("new file mode 100644\n");
        }
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&old_header, &format!("b/{}", f.path))
                .to_string(),
        );
    }
    out
}
