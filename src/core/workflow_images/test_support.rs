//! Helpers the extractors' tests share: findings as comparable rows.

use super::FoundImage;

/// (reference, line, context, resolved) of each finding, what the tables compare.
pub(super) type Row = (String, usize, String, bool);

pub(super) fn rows(found: &[FoundImage]) -> Vec<Row> {
    found
        .iter()
        .map(|f| (f.reference.clone(), f.line, f.context.clone(), f.resolved))
        .collect()
}

pub(super) fn row(reference: &str, line: usize, context: &str) -> Row {
    (reference.into(), line, context.into(), true)
}

pub(super) fn unresolved_row(reference: &str, line: usize, context: &str) -> Row {
    (reference.into(), line, context.into(), false)
}

pub(super) fn note_of(found: &[FoundImage], k: usize) -> String {
    found
        .get(k)
        .and_then(|f| f.note.clone())
        .unwrap_or_default()
}
