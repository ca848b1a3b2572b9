//! Line diffs of two texts, for people: the longest common subsequence of their lines, in
//! hunks with three lines of context, deletions before additions inside each change. Two
//! renderings of the same hunks: [`unified`] (`config migrate --diff`, the `diff -u` format) and
//! [`expected_actual`] (`adapter test`'s failed expectations, where `-` is expected and `+` is
//! actual).
//!
//! A leaf: it uses nothing else of the crate.

/// Above this many line pairs the LCS table (4 bytes a pair) is not built and the diff is one
/// change replacing everything: a bound on memory and time for large or hostile inputs.
const MAX_PAIRS: usize = 4_000_000;
/// Unchanged lines shown before and after each change.
const CONTEXT: usize = 3;

/// One step of the edit script from the old text to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// The edit script of a longest common subsequence of `a` and `b` (or, beyond [`MAX_PAIRS`],
/// every line deleted then every line added).
fn script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_PAIRS {
        return std::iter::repeat_n(Op::Del, n)
            .chain(std::iter::repeat_n(Op::Add, m))
            .collect();
    }
    // lcs[at(i, j)]: the LCS length of a[i..] and b[j..].
    let at = |i: usize, j: usize| i * (m + 1) + j;
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i] == b[j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
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
        } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
            ops.push(Op::Del);
            i += 1;
        } else {
            ops.push(Op::Add);
            j += 1;
        }
    }
    // Inside each change, deletions first: the old lines read as a block, then the new ones.
    for run in ops.chunk_by_mut(|x, y| (*x == Op::Same) == (*y == Op::Same)) {
        run.sort_by_key(|o| *o != Op::Del);
    }
    ops
}

/// One line of a hunk: its op and its text.
type Line<'a> = (Op, &'a str);

/// A hunk: where it starts in each text (1-based; the line before it when it has no lines
/// there, as `diff -u` prints it), and its lines.
struct Hunk<'a> {
    old_start: usize,
    new_start: usize,
    lines: Vec<Line<'a>>,
}

impl Hunk<'_> {
    fn count(&self, not: Op) -> usize {
        self.lines.iter().filter(|(o, _)| *o != not).count()
    }
}

/// The diff of `old` and `new` as hunks (none when the texts are equal), and whether unchanged
/// lines were left out before the first hunk, between hunks (always) and after the last.
fn hunks<'a>(old: &'a str, new: &'a str) -> (Vec<Hunk<'a>>, bool, bool) {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = script(&a, &b);
    let (mut i, mut j) = (0, 0);
    let lines: Vec<(Line, usize, usize)> = ops
        .iter()
        .map(|op| {
            let at = (i, j);
            let text = match op {
                Op::Same | Op::Del => a[i],
                Op::Add => b[j],
            };
            match op {
                Op::Same => (i, j) = (i + 1, j + 1),
                Op::Del => i += 1,
                Op::Add => j += 1,
            }
            ((*op, text), at.0, at.1)
        })
        .collect();
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k] != Op::Same).collect();
    let mut out = Vec::new();
    let mut k = 0;
    let mut last_end = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let (_, i0, j0) = lines[start];
        let hunk = Hunk {
            old_start: i0 + 1,
            new_start: j0 + 1,
            lines: lines[start..end].iter().map(|(l, _, _)| *l).collect(),
        };
        out.push(hunk);
        last_end = end;
    }
    let before = out.first().is_some_and(|_| changed[0] > CONTEXT);
    let after = !out.is_empty() && last_end < ops.len();
    (out, before, after)
}

fn push_line(out: &mut String, mark: char, sep: &str, text: &str) {
    out.push(mark);
    out.push_str(sep);
    out.push_str(text);
    out.push('\n');
}

fn mark(op: Op) -> char {
    match op {
        Op::Same => ' ',
        Op::Del => '-',
        Op::Add => '+',
    }
}

/// The unified diff (`diff -u`) of `old`, named `old_name`, and `new`, named `new_name`: a
/// `@@ -l,n +l,n @@` line before each hunk. Empty when the texts are equal.
pub fn unified(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    for h in hunks(old, new).0 {
        let (old_len, new_len) = (h.count(Op::Add), h.count(Op::Del));
        let old_start = if old_len == 0 {
            h.old_start - 1
        } else {
            h.old_start
        };
        let new_start = if new_len == 0 {
            h.new_start - 1
        } else {
            h.new_start
        };
        out.push_str(&format!(
            "@@ -{old_start},{old_len} +{new_start},{new_len} @@\n"
        ));
        for (op, text) in h.lines {
            push_line(&mut out, mark(op), "", text);
        }
    }
    out
}

/// The diff of `expected` against `actual` for a failed expectation, headed `--- expected` /
/// `+++ actual`: `- ` lines are expected and missing, `+ ` lines actual and unexpected, `  ...`
/// where unchanged lines are left out. Empty when the texts are equal.
pub fn expected_actual(expected: &str, actual: &str) -> String {
    if expected == actual {
        return String::new();
    }
    let mut out = String::from("--- expected\n+++ actual\n");
    let (hunks, before, after) = hunks(expected, actual);
    for (n, h) in hunks.iter().enumerate() {
        if n > 0 || before {
            out.push_str("  ...\n");
        }
        for (op, text) in &h.lines {
            push_line(&mut out, mark(*op), " ", text);
        }
    }
    if after {
        out.push_str("  ...\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a", "b", "x\n", "x\n"), "");
        assert_eq!(expected_actual("a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn unified_hunks_and_positions() {
        let d = unified(
            "a",
            "b",
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
            "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
        );
        assert_eq!(
            d,
            "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
        let d = unified("/dev/null", "b", "", "x\ny\n");
        assert_eq!(d, "--- /dev/null\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n");
        // Changes six unchanged lines apart share a hunk (nothing would be left out between
        // them); seven apart do not.
        let old: String = (1..=20).map(|n| format!("{n}\n")).collect();
        let near = old
            .replace("\n3\n", "\nthree\n")
            .replace("\n10\n", "\nten\n");
        assert_eq!(unified("a", "b", &old, &near).matches("@@ -").count(), 1);
        let far = old
            .replace("\n3\n", "\nthree\n")
            .replace("\n11\n", "\neleven\n");
        assert_eq!(unified("a", "b", &old, &far).matches("@@ -").count(), 2);
    }

    #[test]
    fn expected_actual_marks_context_and_gaps() {
        let expected = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let actual = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n";
        assert_eq!(
            expected_actual(expected, actual),
            "--- expected\n+++ actual\n  ...\n  2\n  3\n  4\n- 5\n+ five\n  6\n  7\n  8\n  9\n+ 10\n"
        );
        assert_eq!(expected_actual("", "x"), "--- expected\n+++ actual\n+ x\n");
        assert_eq!(expected_actual("x", ""), "--- expected\n+++ actual\n- x\n");
    }

    #[test]
    fn deletions_come_before_additions_inside_a_change() {
        let d = expected_actual("a\nb\nc\n", "x\ny\nc\n");
        assert_eq!(d, "--- expected\n+++ actual\n- a\n- b\n+ x\n+ y\n  c\n");
    }

    #[test]
    fn beyond_the_bound_everything_is_replaced() {
        let old: String = (0..2001).map(|n| format!("{n}\n")).collect();
        let new: String = (0..2001).map(|n| format!("{}\n", n + 1)).collect();
        let d = unified("a", "b", &old, &new);
        assert!(
            d.starts_with("--- a\n+++ b\n@@ -1,2001 +1,2001 @@\n-0\n"),
            "{d}"
        );
        assert_eq!(d.lines().filter(|l| l.starts_with(' ')).count(), 0);
    }
}
