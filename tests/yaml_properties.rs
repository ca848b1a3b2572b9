//! Property tests over hostile YAML: alias bombs of any shape, deep block and flow nesting,
//! wide mappings with duplicates, control characters and invalid UTF-8, fed to the parsers and
//! to every file loader. Each case ends in a value or a typed error, without a panic, and what
//! it materialises stays within the budget the limits promise (counted on the result).

use hyperfleet_adapter::config::{self, LoadOptions, MapEnv, broker};
use hyperfleet_adapter::yaml::{self, MAX_ALIAS_BYTES, MAX_DEPTH, Node, NodeKind};
use proptest::prelude::*;

/// One hostile piece of YAML (a top-level mapping entry named `key`).
fn piece(key: String) -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..10, 1usize..12).prop_map({
            let key = key.clone();
            move |(levels, fanout)| kit::hostile::billion_laughs(&key, 0, levels, fanout)
        }),
        (1usize..2 * MAX_DEPTH).prop_map({
            let key = key.clone();
            move |depth| kit::hostile::deep_block(&key, 0, depth)
        }),
        (1usize..400).prop_map({
            let key = key.clone();
            move |depth| format!("{key}: {}\n", kit::hostile::deep_flow(depth))
        }),
        (0usize..3000, any::<bool>()).prop_map({
            let key = key.clone();
            move |(n, dup)| {
                let mut m = kit::hostile::wide_map(&key, 0, n);
                if dup && n > 0 {
                    m.push_str("  k0: again\n");
                }
                m
            }
        }),
        // An anchor defined deep and aliased deep.
        (1usize..200, 1usize..200).prop_map(move |(h, d)| {
            format!("{key}a: &deep {}\n", kit::hostile::deep_flow(h))
                + &kit::hostile::deep_block(&key, 0, d).replace("d: leaf", "d: *deep")
        }),
    ]
}

/// A document of a few pieces, with characters yaml.v3 refuses (and some it allows) spliced in.
fn document() -> impl Strategy<Value = String> {
    let pieces = (
        piece("p0".into()),
        piece("p1".into()),
        piece("p2".into()),
        1usize..4,
    );
    let splice = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop::sample::select(vec![
                '\0', '\u{1}', '\u{7f}', '\u{85}', '\u{feff}', '\u{fffe}',
            ]),
        ),
        0..3,
    );
    (pieces, splice).prop_map(|((p0, p1, p2, n), splice)| {
        // Anchors may repeat across pieces: YAML lets a later anchor replace an earlier one.
        let mut text: String = [p0, p1, p2][..n].concat();
        for (at, c) in splice {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            text.insert(i, c);
        }
        text
    })
}

/// Nodes, scalar bytes and nesting depth of a tree.
fn weigh(n: &Node, depth: usize, acc: &mut (usize, usize, usize)) {
    acc.0 += 1;
    match &n.kind {
        NodeKind::Scalar { text, .. } => acc.1 += text.len(),
        NodeKind::Seq(items) => {
            acc.2 = acc.2.max(depth + 1);
            items.iter().for_each(|i| weigh(i, depth + 1, acc));
        }
        NodeKind::Map(entries) => {
            acc.2 = acc.2.max(depth + 1);
            for (k, v) in entries {
                weigh(k, depth + 1, acc);
                weigh(v, depth + 1, acc);
            }
        }
    }
}

/// The most a document of `len` bytes may materialise: its own nodes and text, plus what
/// yaml.v3's ratio lets aliases add (at most ~1.2 million nodes below 4 million decodes, a
/// tenth beyond) and the alias text cap.
fn within_budget(root: &Node, len: usize) -> Result<(), String> {
    let mut acc = (0, 0, 0);
    weigh(root, 0, &mut acc);
    let (nodes, bytes, depth) = acc;
    let node_budget = len + 1_250_000;
    let byte_budget = len + MAX_ALIAS_BYTES as usize;
    if nodes > node_budget || bytes > byte_budget || depth > MAX_DEPTH {
        return Err(format!("{nodes} nodes, {bytes} bytes, depth {depth}"));
    }
    Ok(())
}

fn load_task(bytes: &[u8]) -> config::Report {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("adapter.yaml");
    std::fs::write(&a, "adapter:\n  name: p\n  version: \"0.1.0\"\n").unwrap();
    let t = dir.path().join("task.yaml");
    std::fs::write(&t, bytes).unwrap();
    let env = MapEnv::default();
    let opts = LoadOptions {
        adapter_path: Some(a),
        task_path: Some(t),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    };
    config::load_report(&opts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn parsers_end_in_a_bounded_value_or_a_typed_error(text in document()) {
        match yaml::parse(&text) {
            Ok(root) => prop_assert_eq!(within_budget(&root, text.len()), Ok(())),
            Err(e) => prop_assert!(e.line >= 1, "{e:?}"),
        }
        match yaml::parse_value(&text) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.line >= 1, "{e:?}"),
        }
    }

    #[test]
    fn config_loaders_end_in_a_config_or_located_problems(
        text in document(),
        garbage in prop::collection::vec(any::<u8>(), 0..8),
        at in any::<prop::sample::Index>(),
    ) {
        // Half the cases carry bytes that are not UTF-8 (continuation bytes alone).
        let mut bytes = text.into_bytes();
        let i = at.index(bytes.len() + 1);
        bytes.splice(i..i, garbage.iter().map(|b| b | 0x80));
        let report = load_task(&bytes);
        let failed = report.problems.iter().any(|p| p.is_error());
        prop_assert!(report.loaded.is_some() != failed);
        for p in report.problems.iter().filter(|p| p.is_error()) {
            prop_assert!(p.file.ends_with("task.yaml"), "{p}");
        }

        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("broker.yaml");
        std::fs::write(&b, &bytes).unwrap();
        if let Err(e) = broker::load_from(&MapEnv::default(), Some(&b)) {
            prop_assert!(e.problems.iter().all(|p| p.file == b), "{e}");
        }
    }
}
