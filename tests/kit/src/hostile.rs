//! Hostile YAML for the fault-injection and property tests: alias bombs, deep nesting and wide
//! mappings, each small on disk and huge (or slow) if a loader expands or scans it naively.

/// "Billion laughs": `levels` anchors, each a list of `fanout` aliases of the one before, under
/// the mapping key `key`, indented by `indent` spaces. 9 × 9 expands to 9⁹ (387 million) nodes.
pub fn billion_laughs(key: &str, indent: usize, levels: usize, fanout: usize) -> String {
    let pad = " ".repeat(indent);
    let mut s = format!("{pad}{key}:\n{pad}  l0: &l0 lol\n");
    for level in 1..=levels {
        let refs = vec![format!("*l{}", level - 1); fanout].join(", ");
        s.push_str(&format!("{pad}  l{level}: &l{level} [{refs}]\n"));
    }
    s
}

/// A block mapping of `n` distinct keys under `key`, indented by `indent` spaces.
pub fn wide_map(key: &str, indent: usize, n: usize) -> String {
    let pad = " ".repeat(indent);
    let mut s = format!("{pad}{key}:\n");
    for i in 0..n {
        s.push_str(&format!("{pad}  k{i}: v{i}\n"));
    }
    s
}

/// A block sequence of `n` items under `key`: the same number of nodes as [`wide_map`]'s values.
pub fn long_list(key: &str, indent: usize, n: usize) -> String {
    let pad = " ".repeat(indent);
    let mut s = format!("{pad}{key}:\n");
    for i in 0..n {
        s.push_str(&format!("{pad}  - v{i}\n"));
    }
    s
}

/// `depth` nested block mappings `d: d: ... leaf` under `key` (each level one more collection),
/// indented by `indent` spaces; one space of indentation per level keeps the file small.
pub fn deep_block(key: &str, indent: usize, depth: usize) -> String {
    let mut s = format!("{}{key}:\n", " ".repeat(indent));
    for level in 1..depth {
        s.push_str(&format!("{}d:\n", " ".repeat(indent + level)));
    }
    s.push_str(&format!("{}d: leaf\n", " ".repeat(indent + depth)));
    s
}

/// `depth` nested flow sequences.
pub fn deep_flow(depth: usize) -> String {
    "[".repeat(depth) + &"]".repeat(depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_small_on_disk() {
        let bomb = billion_laughs("data", 2, 3, 4);
        assert!(bomb.starts_with("  data:\n    l0: &l0 lol\n"));
        assert!(bomb.contains("l3: &l3 [*l2, *l2, *l2, *l2]"));
        assert_eq!(wide_map("m", 0, 3), "m:\n  k0: v0\n  k1: v1\n  k2: v2\n");
        assert_eq!(long_list("l", 0, 2), "l:\n  - v0\n  - v1\n");
        assert_eq!(deep_block("k", 0, 2), "k:\n d:\n  d: leaf\n");
        assert_eq!(deep_flow(3), "[[[]]]");
    }
}
