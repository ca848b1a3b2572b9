//! The log line format: `{"time","level","msg","component","version","hostname", ...fields}`
//! in JSON, or `time=… level=… msg="…" component=… …` in text — the Go adapter's shape, so log
//! searches and parsers keep working. Fields of the enclosing spans (`event_id`, ...) are
//! included; a span field named `log_fields` holding a JSON object is flattened into the line
//! (for dynamic names such as `cluster_id`).

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Collects fields as JSON values.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, v: Value) {
        if field.name() == "log_fields"
            && let Value::String(s) = &v
            && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(s)
        {
            self.0.extend(m);
            return;
        }
        self.0.insert(field.name().to_string(), v);
    }
}

impl Visit for Fields {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.put(f, Value::String(v.to_string()));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.put(f, Value::Bool(v));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.put(f, Value::from(v));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.put(f, Value::from(v));
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.put(
            f,
            serde_json::Number::from_f64(v)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
    }
    fn record_error(&mut self, f: &Field, v: &(dyn std::error::Error + 'static)) {
        self.put(f, Value::String(v.to_string()));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.put(f, Value::String(format!("{v:?}")));
    }
}

/// Keeps each span's fields as JSON, for the formatter.
pub struct SpanFields;

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for SpanFields {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(f);
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(f) = ext.get_mut::<Fields>() {
                values.record(f);
            }
        }
    }
}

/// The line format.
pub struct LineFormat {
    pub json: bool,
    pub component: String,
    pub version: String,
    pub hostname: String,
}

fn text_value(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() || s.contains([' ', '"', '=']) || s.contains('\n') => {
            format!("{s:?}")
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let msg = match fields.0.remove("message") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let mut line = Map::new();
        line.insert(
            "time".into(),
            Value::String(Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true)),
        );
        line.insert(
            "level".into(),
            Value::String(event.metadata().level().to_string()),
        );
        line.insert("msg".into(), Value::String(msg));
        line.insert("component".into(), Value::String(self.component.clone()));
        line.insert("version".into(), Value::String(self.version.clone()));
        line.insert("hostname".into(), Value::String(self.hostname.clone()));
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<Fields>() {
                    for (k, v) in &f.0 {
                        line.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        line.extend(fields.0);
        crate::redact::mask_map(&mut line);
        if self.json {
            writeln!(writer, "{}", Value::Object(line))
        } else {
            let parts: Vec<String> = line
                .iter()
                .map(|(k, v)| format!("{k}={}", text_value(v)))
                .collect();
            writeln!(writer, "{}", parts.join(" "))
        }
    }
}
