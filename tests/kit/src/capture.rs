//! Log lines captured in memory: a writer for the adapter's log subscriber, read back as JSON.

use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The lines written so far; clones share them.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    /// Every line written so far, each parsed as JSON (panics on a line that is not).
    pub fn lines(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The first line whose message or error contains `needle`.
    pub fn find(&self, needle: &str) -> Value {
        self.lines()
            .into_iter()
            .find(|l| {
                l["msg"].as_str().unwrap_or_default().contains(needle)
                    || l["error"].as_str().unwrap_or_default().contains(needle)
            })
            .unwrap_or_else(|| panic!("no log line with {needle:?}:\n{:#?}", self.lines()))
    }

    /// Everything written, as written (for text-format lines).
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_subscriber_writes_lines_that_read_back() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(capture.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(error = "disk on fire", "first");
            tracing::warn!("second");
        });
        assert_eq!(capture.lines().len(), 2);
        assert_eq!(capture.find("disk on")["level"], "INFO");
        assert!(
            String::from_utf8(capture.bytes())
                .unwrap()
                .contains("second")
        );
    }
}
