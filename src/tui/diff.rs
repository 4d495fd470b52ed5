//! A line diff for the conflict and history views: the `similar` crate's Myers diff with
//! a deadline (past it, the alignment is coarser but the result still exact), as tagged
//! lines.

use similar::{Algorithm, DiffTag};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Same,
    Removed,
    Added,
}

/// How long the alignment may take before it settles for a coarser one.
const DEADLINE: Duration = Duration::from_millis(200);

/// The lines of `new` against `old`, each tagged.
pub fn diff<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<(Tag, &'a str)> {
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        old,
        new,
        Some(Instant::now() + DEADLINE),
    );
    let mut out = Vec::with_capacity(old.len().max(new.len()));
    for op in ops {
        let (tag, o, n) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => out.extend(old[o].iter().map(|l| (Tag::Same, *l))),
            DiffTag::Delete => out.extend(old[o].iter().map(|l| (Tag::Removed, *l))),
            DiffTag::Insert => out.extend(new[n].iter().map(|l| (Tag::Added, *l))),
            DiffTag::Replace => {
                out.extend(old[o].iter().map(|l| (Tag::Removed, *l)));
                out.extend(new[n].iter().map(|l| (Tag::Added, *l)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_keeps_common_lines_and_tags_changes() {
        let d = diff(&["a", "b", "c"], &["a", "x", "c", "d"]);
        assert_eq!(
            d,
            vec![
                (Tag::Same, "a"),
                (Tag::Removed, "b"),
                (Tag::Added, "x"),
                (Tag::Same, "c"),
                (Tag::Added, "d")
            ]
        );
        assert_eq!(diff(&[], &["a"]), vec![(Tag::Added, "a")]);
    }

    #[test]
    fn a_large_diff_stays_exact() {
        let old: Vec<String> = (0..20_000).map(|i| format!("line {i}")).collect();
        let new: Vec<String> = (0..20_000).map(|i| format!("line {}", i * 7)).collect();
        let old: Vec<&str> = old.iter().map(String::as_str).collect();
        let new: Vec<&str> = new.iter().map(String::as_str).collect();
        let d = diff(&old, &new);
        let back_old: Vec<&str> = d
            .iter()
            .filter(|(t, _)| *t != Tag::Added)
            .map(|(_, l)| *l)
            .collect();
        let back_new: Vec<&str> = d
            .iter()
            .filter(|(t, _)| *t != Tag::Removed)
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(back_old, old);
        assert_eq!(back_new, new);
    }
}
