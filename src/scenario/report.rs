//! The suite's report: text for people (one line per scenario, each failed expectation with its
//! file:line and diff, a summary) and JUnit XML for CI systems.

use super::{Outcome, ScenarioReport, Suite};
use std::fmt::Write;
use std::time::Duration;

/// The text report.
pub fn text(suite: &Suite) -> String {
    let mut out = String::new();
    for r in &suite.reports {
        let word = match &r.outcome {
            Outcome::Passed { .. } => "PASS ",
            Outcome::Failed { .. } => "FAIL ",
            Outcome::Broken(_) => "ERROR",
        };
        let _ = write!(out, "{word} {}", r.name);
        if !r.description.is_empty() {
            let _ = write!(out, " - {}", r.description);
        }
        let _ = writeln!(out, " ({})", r.file.display());
        for p in &r.updated {
            let _ = writeln!(out, "      updated {}", p.display());
        }
        match &r.outcome {
            Outcome::Passed { .. } => {}
            Outcome::Broken(e) => {
                for l in e.to_string().lines() {
                    let _ = writeln!(out, "      {l}");
                }
            }
            Outcome::Failed { mismatches, .. } => {
                for m in mismatches {
                    let _ = writeln!(
                        out,
                        "      {}:{}: {}: {}",
                        r.file.display(),
                        m.line,
                        m.label,
                        m.message
                    );
                    for l in m.diff.lines() {
                        let _ = writeln!(out, "        {l}");
                    }
                }
            }
        }
    }
    let (passed, failed, broken) = suite.counts();
    let _ = writeln!(
        out,
        "\n{} scenarios: {passed} passed, {failed} failed, {broken} broken ({})",
        suite.reports.len(),
        seconds(suite.elapsed)
    );
    out
}

/// The failure text of a failed scenario: each mismatch and its diff.
fn failure_text(r: &ScenarioReport) -> String {
    let mut out = String::new();
    if let Outcome::Failed { mismatches, .. } = &r.outcome {
        for m in mismatches {
            let _ = writeln!(
                out,
                "{}:{}: {}: {}",
                r.file.display(),
                m.line,
                m.label,
                m.message
            );
            out.push_str(&m.diff);
        }
    }
    out
}

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Escapes text for an XML attribute; characters XML 1.0 cannot hold at all become U+FFFD.
fn xml(text: &str) -> String {
    escape(text, true)
}

/// Escapes the text of an element (quotes stay as they are, so diffs read as printed).
fn xml_text(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML report: one `<testsuite>` (named `suite_name`) of one `<testcase>` per
/// scenario; a failed scenario has a `<failure>` whose text is every mismatch with its diff, a
/// broken one an `<error>`.
pub fn junit(suite: &Suite, suite_name: &str) -> String {
    let (_, failed, broken) = suite.counts();
    let n = suite.reports.len();
    let time = seconds(suite.elapsed);
    let name = xml(suite_name);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"adapter test\" tests=\"{n}\" failures=\"{failed}\" errors=\"{broken}\" time=\"{time}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{name}\" tests=\"{n}\" failures=\"{failed}\" errors=\"{broken}\" skipped=\"0\" time=\"{time}\">"
    );
    for r in &suite.reports {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{name}\" time=\"{}\"",
            xml(&r.name),
            seconds(r.elapsed)
        );
        match &r.outcome {
            Outcome::Passed { .. } => out.push_str("/>\n"),
            Outcome::Failed { mismatches, .. } => {
                let message = format!(
                    "{} expectation(s) failed in {}",
                    mismatches.len(),
                    r.file.display()
                );
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"expectation\" message=\"{}\">{}</failure>\n    </testcase>",
                    xml(&message),
                    xml_text(&failure_text(r))
                );
            }
            Outcome::Broken(e) => {
                let _ = writeln!(
                    out,
                    ">\n      <error type=\"scenario\" message=\"{}\">{}</error>\n    </testcase>",
                    xml(&e.to_string()),
                    xml_text(&e.to_string())
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::{xml, xml_text};

    #[test]
    fn escapes_xml() {
        assert_eq!(
            xml("a<b & \"c\" 'd'>\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\u{FFFD}\n"
        );
        assert_eq!(xml_text("\"c\" <d>"), "\"c\" &lt;d&gt;");
    }
}
