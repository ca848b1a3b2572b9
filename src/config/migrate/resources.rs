//! Resource regions: manifests (inline, `ref`, M0 `refs`) and the E2 ManifestWork moved to
//! `manifest`.

use super::report::ChangeKind;
use super::report::Refused;
use super::walk::{RefRequest, Walker, key_like, string_like};
use crate::yaml::{Node, NodeKind};

impl Walker<'_> {
    pub(super) fn manifest(&mut self, v: &Node, path: &str) -> Result<Node, Refused> {
        if let NodeKind::Map(entries) = &v.kind
            && let [(k, r)] = entries.as_slice()
        {
            match (k.as_str(), &r.kind) {
                (Some("ref"), NodeKind::Scalar { text, .. }) => {
                    self.refs.push(RefRequest {
                        path: text.clone(),
                        build: false,
                        line: r.line,
                    });
                    return Ok(v.clone());
                }
                (Some("refs"), NodeKind::Seq(items)) => return self.m0_refs(k, items, v, path),
                _ => {}
            }
        }
        self.free_templates(v, path, None)
    }

    /// M0 `manifest.refs`: only the first file was ever applied.
    pub(super) fn m0_refs(
        &mut self,
        k: &Node,
        items: &[Node],
        v: &Node,
        path: &str,
    ) -> Result<Node, Refused> {
        let Some(first) = items.first().and_then(Node::as_str) else {
            return Ok(v.clone());
        };
        let ext = self.src.extent(k);
        if !self.src.key_starts_line(k) {
            self.edits
                .unsupported(format!("line {}: manifest.refs", k.line));
        }
        if ext.last > ext.key_line {
            self.edits.delete(ext.key_line + 1, ext.last);
        }
        let pad = " ".repeat(self.src.key_indent(k));
        let line = self.src.line(ext.key_line).len();
        let new = format!("{pad}ref: {}", crate::yaml::inline_string(first));
        self.edits.replace(ext.key_line, 0, line, new);
        let others: Vec<&str> = items.iter().skip(1).filter_map(Node::as_str).collect();
        self.report(
            k.line,
            ChangeKind::Move,
            format!("{path}.refs -> {path}.ref: {first:?} (only the first file was ever applied; not applied: {others:?})"),
        );
        self.refs.push(RefRequest {
            path: first.to_string(),
            build: false,
            line: k.line,
        });
        Ok(Node {
            kind: NodeKind::Map(vec![(key_like("ref", k), string_like(first, &items[0]))]),
            ..v.clone()
        })
    }

    /// E2: `transport.maestro.manifestWork` is the ManifestWork when `manifest` is absent.
    pub(super) fn finish_resource(
        &mut self,
        item: &Node,
        mut out: Node,
        path: &str,
    ) -> Result<Node, Refused> {
        let Some((k, v)) = self.manifest_work.take() else {
            return Ok(out);
        };
        let mw_path = format!("{path}.transport.maestro.manifestWork");
        if item.get("manifest").is_some() {
            self.drop_entry(
                &k,
                &mw_path,
                "the E2 ManifestWork is ignored when `manifest` is set (manifest won)",
            );
            return Ok(out);
        }
        let manifest = self.manifest(&v, &format!("{path}.manifest"))?;
        let ext = self.src.extent(&k);
        let NodeKind::Map(entries) = &item.kind else {
            return Ok(out);
        };
        let (Some((first_key, _)), Some((tkey, _))) = (
            entries.first(),
            entries
                .iter()
                .find(|(k, _)| k.as_str() == Some("transport")),
        ) else {
            return Ok(out);
        };
        if self.edits.touches(ext.first, ext.last) || !self.src.key_starts_line(&k) {
            self.edits
                .unsupported(format!("line {}: manifestWork moved", k.line));
        }
        let delta = self.src.key_indent(first_key) as isize - self.src.key_indent(&k) as isize;
        let mut lines = Vec::new();
        for n in ext.key_line..=ext.last {
            let mut text = self.src.line(n).to_string();
            if n == ext.key_line {
                let b = self.src.byte_of(k.line, k.col).unwrap_or(0);
                text.replace_range(b..b + "manifestWork".len(), "manifest");
            }
            lines.push(shift_line(&text, delta));
        }
        // After the transport entry: its last line, unless that line is the moved entry's own.
        let tend = self.src.extent(tkey).last;
        let tend = if (ext.first..=ext.last).contains(&tend) {
            ext.first - 1
        } else {
            tend
        };
        self.edits.delete(ext.first, ext.last);
        self.edits.insert_after(tend, lines);
        self.report(
            k.line,
            ChangeKind::Move,
            format!("{mw_path} -> {path}.manifest"),
        );
        if let NodeKind::Map(entries) = &mut out.kind {
            let at = entries
                .iter()
                .position(|(k, _)| k.as_str() == Some("transport"))
                .map_or(entries.len(), |i| i + 1);
            entries.insert(at, (key_like("manifest", &k), manifest));
        }
        Ok(out)
    }
}

fn shift_line(line: &str, delta: isize) -> String {
    if delta >= 0 || line.trim().is_empty() {
        return format!("{}{line}", " ".repeat(delta.max(0) as usize));
    }
    let have = line.len() - line.trim_start_matches(' ').len();
    line[have.min(delta.unsigned_abs())..].to_string()
}
