//! Column alignment like Go's `text/tabwriter` as the Go plugin configures it (minimum width 0,
//! padding 3, spaces): every column but the last is padded to its widest cell plus three
//! spaces. Trailing spaces are trimmed so that output compares line by line.

/// Rows of cells, the first usually the header.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

const PADDING: usize = 3;

impl Table {
    /// A table whose first row is `header`.
    pub fn with_header(header: &[&str]) -> Table {
        let mut table = Table::default();
        table.push(header.iter().map(|h| (*h).to_owned()).collect());
        table
    }

    /// Appends a row; rows may have different lengths.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The aligned text, one line per row, each ending in a newline.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = Vec::new();
        for row in &self.rows {
            // The last cell of a row is not padded, so it does not widen its column.
            for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
                let width = cell.chars().count();
                match widths.get_mut(i) {
                    Some(w) => *w = (*w).max(width),
                    None => widths.push(width),
                }
            }
        }
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    let width = widths.get(i).copied().unwrap_or(0) + PADDING;
                    let fill = width.saturating_sub(cell.chars().count());
                    line.extend(std::iter::repeat_n(' ', fill));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `-` for an absent or empty value, the value otherwise.
pub fn cell(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell_plus_three() {
        let mut t = Table::with_header(&["A", "BB", "C"]);
        t.push(vec!["xxxx".into(), "y".into(), "zzzzzz".into()]);
        t.push(vec![String::new(), String::new(), String::new()]);
        assert_eq!(t.render(), "A      BB   C\nxxxx   y    zzzzzz\n\n");
    }

    #[test]
    fn empty_values_become_dashes() {
        assert_eq!(cell(None), "-");
        assert_eq!(cell(Some("")), "-");
        assert_eq!(cell(Some("5m")), "5m");
    }
}
