//! Logs for Terraform: one JSON object per line on stderr, the format go-plugin reads.
//!
//! Terraform parses each stderr line carrying `@level`, `@message` and `@timestamp` and
//! files it under the provider's logs, so `TF_LOG`, `TF_LOG_PROVIDER` and
//! `TF_LOG_PROVIDER_SIRO` select what is shown. Span fields (`tf_rpc`, `tf_req_id`, ...)
//! are added to every event inside the span. Nothing is written when no level is set.

use std::fmt::Debug;
use std::io::Write;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Log level variables, most specific first.
const LEVEL_KEYS: [&str; 3] = ["TF_LOG_PROVIDER_SIRO", "TF_LOG_PROVIDER", "TF_LOG"];

/// Other crates log below warn only when asked for by name; their trace output (HTTP/2
/// frames, TLS records) could carry request headers.
const DEPENDENCY_CEILING: LevelFilter = LevelFilter::WARN;

/// Starts logging to stderr at the level Terraform's variables ask for.
pub fn init() {
    let level = level_from(|key| std::env::var(key).ok());
    if level == LevelFilter::OFF {
        return;
    }
    let targets = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), level)
        .with_default(level.min(DEPENDENCY_CEILING));
    let subscriber = tracing_subscriber::registry().with(JsonLines.with_filter(targets));
    // Err only if a subscriber is already set (tests); that one keeps working.
    let _ = subscriber.try_init();
}

/// The level from the first of [`LEVEL_KEYS`] that is set and not empty.
///
/// Like Terraform, `JSON` means trace and an unrecognised value means trace.
fn level_from(env: impl Fn(&str) -> Option<String>) -> LevelFilter {
    let Some(value) = LEVEL_KEYS
        .iter()
        .find_map(|key| env(key).filter(|v| !v.is_empty()))
    else {
        return LevelFilter::OFF;
    };
    match value.to_ascii_uppercase().as_str() {
        "OFF" => LevelFilter::OFF,
        "ERROR" => LevelFilter::ERROR,
        "WARN" => LevelFilter::WARN,
        "INFO" => LevelFilter::INFO,
        "DEBUG" => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Writes events as hclog-style JSON lines.
struct JsonLines;

/// Fields recorded on a span, kept in its extensions.
struct SpanFields(Map<String, Json>);

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let mut fields = Map::new();
        attributes.record(&mut JsonVisitor(&mut fields));
        if let Some(span) = context.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, context: Context<'_, S>) {
        let Some(span) = context.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let mut line = Map::new();
        line.insert(
            "@level".into(),
            Json::from(level_name(event.metadata().level())),
        );
        line.insert("@timestamp".into(), Json::from(timestamp()));
        line.insert(
            "@module".into(),
            Json::from("provider.terraform-provider-siro"),
        );
        if let Some(scope) = context.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.clone());
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let message = fields.remove("message").unwrap_or_else(|| Json::from(""));
        line.insert("@message".into(), message);
        line.extend(fields);

        let mut stderr = std::io::stderr().lock();
        // A log line that cannot be written is dropped; there is nowhere to report it.
        let _ = writeln!(stderr, "{}", Json::Object(line));
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Microsecond RFC 3339 in UTC, as hclog writes it.
fn timestamp() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

struct JsonVisitor<'a>(&'a mut Map<String, Json>);

impl Visit for JsonVisitor<'_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Json::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Json::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Json::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Json::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().into(), Json::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn off_unless_a_level_is_set() {
        assert_eq!(level_from(env_of(&[])), LevelFilter::OFF);
        assert_eq!(level_from(env_of(&[("TF_LOG", "")])), LevelFilter::OFF);
    }

    #[test]
    fn most_specific_variable_wins() {
        let env = env_of(&[("TF_LOG", "error"), ("TF_LOG_PROVIDER", "debug")]);
        assert_eq!(level_from(env), LevelFilter::DEBUG);
        let env = env_of(&[
            ("TF_LOG_PROVIDER", "debug"),
            ("TF_LOG_PROVIDER_SIRO", "WARN"),
        ]);
        assert_eq!(level_from(env), LevelFilter::WARN);
    }

    #[test]
    fn json_and_unknown_values_mean_trace() {
        assert_eq!(
            level_from(env_of(&[("TF_LOG", "JSON")])),
            LevelFilter::TRACE
        );
        assert_eq!(
            level_from(env_of(&[("TF_LOG", "loud")])),
            LevelFilter::TRACE
        );
    }

    #[test]
    fn timestamp_has_microseconds() {
        let stamp = timestamp();
        assert_eq!(stamp.len(), "2026-01-02T03:04:05.123456Z".len(), "{stamp}");
        assert!(stamp.ends_with('Z'));
    }
}
