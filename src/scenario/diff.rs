//! Line diffs of expected against actual text (pretty JSON for documents): `-` lines are
//! expected and missing, `+` lines are actual and unexpected, with three lines of context
//! around each change.

const CONTEXT: usize = 3;

/// Beyond this many lines on either side the diff is the two texts one after the other (the
/// longest-common-subsequence table is quadratic).
const MAX_LINES: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// The diff of `expected` against `actual`, headed `--- expected` / `+++ actual`; empty when
/// they are equal.
pub fn lines(expected: &str, actual: &str) -> String {
    if expected == actual {
        return String::new();
    }
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let ops = if a.len() > MAX_LINES || b.len() > MAX_LINES {
        a.iter()
            .map(|_| Op::Del)
            .chain(b.iter().map(|_| Op::Add))
            .collect()
    } else {
        script(&a, &b)
    };
    render(&a, &b, &ops)
}

/// The edit script of a longest common subsequence.
fn script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: the LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Same);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(Op::Add);
            j += 1;
        } else {
            ops.push(Op::Del);
            i += 1;
        }
    }
    // Deletions before additions inside each change reads better.
    let mut k = 0;
    while k < ops.len() {
        if ops[k] == Op::Same {
            k += 1;
            continue;
        }
        let end = ops[k..]
            .iter()
            .position(|o| *o == Op::Same)
            .map_or(ops.len(), |p| k + p);
        ops[k..end].sort_by_key(|o| *o != Op::Del);
        k = end;
    }
    ops
}

fn render(a: &[&str], b: &[&str], ops: &[Op]) -> String {
    // Which ops to show: every change and CONTEXT unchanged lines either side.
    let mut shown = vec![false; ops.len()];
    for (k, _) in ops.iter().enumerate().filter(|(_, o)| **o != Op::Same) {
        let end = (k + CONTEXT + 1).min(ops.len());
        shown[k.saturating_sub(CONTEXT)..end].fill(true);
    }
    let mut out = String::from("--- expected\n+++ actual\n");
    let (mut i, mut j) = (0, 0);
    let mut skipped = false;
    for (k, op) in ops.iter().enumerate() {
        let line = match op {
            Op::Same => a[i],
            Op::Del => a[i],
            Op::Add => b[j],
        };
        if shown[k] {
            if skipped {
                out.push_str("  ...\n");
                skipped = false;
            }
            let mark = match op {
                Op::Same => ' ',
                Op::Del => '-',
                Op::Add => '+',
            };
            out.push(mark);
            out.push(' ');
            out.push_str(line);
            out.push('\n');
        } else {
            skipped = true;
        }
        match op {
            Op::Same => {
                i += 1;
                j += 1;
            }
            Op::Del => i += 1,
            Op::Add => j += 1,
        }
    }
    if skipped {
        out.push_str("  ...\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(lines("a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn changes_with_context() {
        let expected = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let actual = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n";
        assert_eq!(
            lines(expected, actual),
            "--- expected\n+++ actual\n  ...\n  2\n  3\n  4\n- 5\n+ five\n  6\n  7\n  8\n  9\n+ 10\n"
        );
    }

    #[test]
    fn additions_and_deletions_only() {
        assert_eq!(lines("", "x"), "--- expected\n+++ actual\n+ x\n");
        assert_eq!(lines("x", ""), "--- expected\n+++ actual\n- x\n");
    }
}
