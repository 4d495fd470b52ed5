//! A line diff (longest common subsequence) for the conflict view: small, exact, and
//! bounded, falling back to "all removed, all added" when the inputs are very large.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Same,
    Removed,
    Added,
}

/// Cells of the LCS table above which the diff gives up on alignment.
const MAX_CELLS: usize = 4_000_000;

/// The lines of `new` against `old`, each tagged.
pub fn diff<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<(Tag, &'a str)> {
    let (n, m) = (old.len(), new.len());
    if n.saturating_mul(m) > MAX_CELLS {
        let mut out: Vec<(Tag, &str)> = old.iter().map(|l| (Tag::Removed, *l)).collect();
        out.extend(new.iter().map(|l| (Tag::Added, *l)));
        return out;
    }
    // lcs[i][j]: length of the LCS of old[i..] and new[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if old[i] == new[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n.max(m));
    while i < n && j < m {
        if old[i] == new[j] {
            out.push((Tag::Same, old[i]));
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * w + j] >= lcs[i * w + j + 1] {
            out.push((Tag::Removed, old[i]));
            i += 1;
        } else {
            out.push((Tag::Added, new[j]));
            j += 1;
        }
    }
    out.extend(old[i..].iter().map(|l| (Tag::Removed, *l)));
    out.extend(new[j..].iter().map(|l| (Tag::Added, *l)));
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
}
