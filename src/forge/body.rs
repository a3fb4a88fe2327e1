//! Fitting a body under a forge's size limit (shared by the backends). The lifecycle finds its state in the hidden marker
//! line (`<!-- attune: … -->`), so a cut body keeps that line, last, and stays valid Markdown.

use std::borrow::Cow;

use crate::text::floor_char_boundary;

const MARKER: &str = "<!-- attune:";
const NOTICE: &str = "\n\n> This description was cut to fit the forge's size limit.\n\n";
/// Room for closing a code fence the cut left open (`\n` and three fence characters).
const FENCE_ROOM: usize = 4;

/// `body` unchanged when it fits in `max` bytes; otherwise its start, cut at a line (or at
/// least a character) boundary, a notice, and the marker line.
pub(crate) fn fit(body: &str, max: usize) -> Cow<'_, str> {
    if body.len() <= max {
        return Cow::Borrowed(body);
    }
    let (text, marker) = split_marker(body);
    let Some(budget) = max.checked_sub(FENCE_ROOM + NOTICE.len() + marker.len()) else {
        // A marker as long as the limit cannot be kept; a plain cut is all that fits.
        return Cow::Owned(body[..floor_char_boundary(body, max)].to_owned());
    };
    let mut cut = floor_char_boundary(&text, budget);
    // A whole last line reads better than half a table row or link, unless that throws away
    // much of what would fit.
    if let Some(line_end) = text[..cut].rfind('\n')
        && line_end >= cut / 2
    {
        cut = line_end;
    }
    let mut kept = &text[..cut];
    // An HTML comment left open by the cut would hide the rest of the body, marker included.
    if let Some(open) = kept.rfind("<!--")
        && !kept[open..].contains("-->")
    {
        kept = &kept[..open];
    }
    let mut out = String::with_capacity(max);
    out.push_str(kept);
    if let Some(fence) = open_fence(kept) {
        // Otherwise the notice and marker would render as code, the marker visibly.
        out.push('\n');
        out.push_str(fence);
    }
    out.push_str(NOTICE);
    out.push_str(marker);
    Cow::Owned(out)
}

/// The body without its last marker line, and that line (empty when there is none).
fn split_marker(body: &str) -> (Cow<'_, str>, &str) {
    let start = body
        .rmatch_indices(MARKER)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || body.as_bytes()[i - 1] == b'\n');
    let Some(start) = start else {
        return (Cow::Borrowed(body), "");
    };
    let end = body[start..].find('\n').map_or(body.len(), |i| start + i);
    let marker = body[start..end].trim_end_matches('\r');
    let after = &body[end..];
    if after.trim().is_empty() {
        (Cow::Borrowed(&body[..start]), marker)
    } else {
        (
            Cow::Owned(format!("{}{}", &body[..start], &after[1..])),
            marker,
        )
    }
}

/// The fence a Markdown text leaves open at its end, if any.
fn open_fence(text: &str) -> Option<&'static str> {
    let mut open = None;
    for line in text.lines() {
        let line = line.trim_start();
        for fence in ["```", "~~~"] {
            if line.starts_with(fence) {
                open = match open {
                    None => Some(fence),
                    Some(current) if current == fence => None,
                    other => other,
                };
            }
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "<!-- attune: {\"hash\":\"abc\"} -->";

    #[test]
    fn short_bodies_are_untouched() {
        let body = format!("hello\n{LINE}\n");
        assert!(matches!(fit(&body, 1000), Cow::Borrowed(b) if b == body));
    }

    #[test]
    fn long_bodies_fit_and_end_with_the_marker() {
        // Multi-byte characters and lines of several lengths put the cut everywhere.
        for max in [200, 333, 1000, 1001, 1002, 1003] {
            let mut body = String::new();
            for i in 0..300 {
                body.push_str(&format!("| row {i} | ünïcødé ✓ {} |\n", "x".repeat(i % 7)));
            }
            body.push_str(LINE);
            body.push('\n');
            let fitted = fit(&body, max);
            assert!(fitted.len() <= max, "{} > {max}", fitted.len());
            assert!(fitted.ends_with(LINE), "max {max}: {fitted:?}");
            assert!(fitted.contains("cut to fit"));
            assert!(fitted.starts_with("| row 0 |"));
        }
    }

    #[test]
    fn text_after_the_marker_is_kept_before_it() {
        let body = format!("{}\n{LINE}\nfooter\n", "a".repeat(500));
        let fitted = fit(&body, 200);
        assert!(fitted.len() <= 200);
        assert!(fitted.ends_with(LINE));
    }

    #[test]
    fn an_open_code_fence_is_closed_before_the_marker() {
        let body = format!("intro\n```yaml\n{}```\n{LINE}", "cpu: 100m\n".repeat(100));
        let fitted = fit(&body, 300);
        assert!(fitted.len() <= 300);
        let before_notice = fitted.split("\n\n> This").next().unwrap();
        assert!(before_notice.ends_with("\n```"), "{fitted}");
        assert!(open_fence(&fitted).is_none());
        assert!(fitted.ends_with(LINE));
    }

    #[test]
    fn without_a_marker_the_cut_still_fits() {
        let body = "é".repeat(1000);
        let fitted = fit(&body, 101);
        assert!(fitted.len() <= 101);
        assert!(fitted.starts_with('é'));
    }

    #[test]
    fn truncation_keeps_the_marker_line_last() {
        let marker = "<!-- attune:state {\"v\":1} -->";
        let body = format!("{}\n{marker}\n", "é".repeat(5000));
        for max in [200, 1001, 4000, 9000] {
            let fitted = fit(&body, max);
            assert!(fitted.len() <= max, "{} > {max}", fitted.len());
            assert!(fitted.ends_with(marker));
            assert!(fitted.contains("cut to fit"));
        }
    }

    #[test]
    fn truncation_does_not_leave_a_comment_open() {
        let body = format!(
            "{}<!-- hidden {} -->\n<!-- attune:x -->",
            "a".repeat(100),
            "b".repeat(500)
        );
        let fitted = fit(&body, 300);
        assert!(fitted.starts_with(&"a".repeat(100)));
        assert_eq!(fitted.matches("<!--").count(), 1);
        assert!(fitted.ends_with("<!-- attune:x -->"));
    }

    #[test]
    fn truncation_without_marker_just_cuts() {
        let body = "x".repeat(500);
        let fitted = fit(&body, 100);
        assert!(fitted.len() <= 100);
        assert!(fitted.starts_with("xxx"));
    }
}
