//! Cutting text to a byte budget without splitting a character: forge bodies and answers,
//! event notes and condition messages all have limits counted in bytes. Pure.

/// The largest character boundary of `text` at or below `index` (`str::floor_char_boundary`
/// is stable only from Rust 1.91; the crate supports 1.89).
pub fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    (0..=index)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// `text` cut to at most `max` bytes on a character boundary, ending in `...` when cut.
pub fn ellipsize(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let end = floor_char_boundary(text, max.saturating_sub(3));
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_char_boundary_never_splits_a_character() {
        let text = "aé";
        assert_eq!(floor_char_boundary(text, 2), 1);
        assert_eq!(floor_char_boundary(text, 3), 3);
        assert_eq!(floor_char_boundary(text, 9), 3);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let text = "é".repeat(700);
        let cut = ellipsize(&text, 1000);
        assert!(cut.len() <= 1000 && cut.ends_with("..."), "{}", cut.len());
    }
}
