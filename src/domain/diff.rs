//! Word-level differences between two versions of a text, for `mission history`:
//! what a change removed and added, in the words people read.

/// One run of words: kept, removed or added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Same(String),
    Removed(String),
    Added(String),
}

/// The changes that turn `old` into `new`, word by word (longest common
/// subsequence), with neighbouring words of the same kind joined into one run.
pub fn words(old: &str, new: &str) -> Vec<Change> {
    let a: Vec<&str> = old.split_whitespace().collect();
    let b: Vec<&str> = new.split_whitespace().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out: Vec<Change> = Vec::new();
    let mut push = |change: Change| {
        let merged = match (out.last_mut(), &change) {
            (Some(Change::Same(s)), Change::Same(w))
            | (Some(Change::Removed(s)), Change::Removed(w))
            | (Some(Change::Added(s)), Change::Added(w)) => {
                s.push(' ');
                s.push_str(w);
                true
            }
            _ => false,
        };
        if !merged {
            out.push(change);
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            push(Change::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // On a tie, what went comes before what came: "[-old-] {+new+}".
            push(Change::Removed(a[i].to_string()));
            i += 1;
        } else {
            push(Change::Added(b[j].to_string()));
            j += 1;
        }
    }
    out
}

/// The changes in git's word-diff notation: `[-removed-]` and `{+added+}`.
pub fn marked(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| match c {
            Change::Same(s) => s.clone(),
            Change::Removed(s) => format!("[-{s}-]"),
            Change::Added(s) => format!("{{+{s}+}}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_word_shows_as_removed_and_added() {
        let d = words(
            "Grow a thriving urban forest, together.",
            "Grow a lush urban forest, together.",
        );
        assert_eq!(
            marked(&d),
            "Grow a [-thriving-] {+lush+} urban forest, together."
        );
    }

    #[test]
    fn additions_and_removals_at_the_ends() {
        assert_eq!(
            marked(&words("Plant trees", "Plant and tend trees")),
            "Plant {+and tend+} trees"
        );
        assert_eq!(
            marked(&words("Plant many trees now", "Plant trees")),
            "Plant [-many-] trees [-now-]"
        );
        assert_eq!(marked(&words("", "New mission")), "{+New mission+}");
        assert_eq!(words("same", "same"), vec![Change::Same("same".into())]);
    }
}
