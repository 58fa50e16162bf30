//! Logging: JSON lines on stderr (stdout is the CLI's answer), each carrying the fields of the
//! spans it happened in, so every line of a request has its `request_id`.

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

/// Logging for a one-shot CLI verb: its answer is what a person reads, so routine lines stay out
/// of the terminal (warnings and errors only) unless a level other than the default is set.
pub fn init_for_command(config: &LogConfig) {
    let level = if config.level == LogConfig::default().level {
        "warn".to_owned()
    } else {
        config.level.clone()
    };
    init(&LogConfig {
        level,
        ..config.clone()
    });
}

pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_new(&config.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests building several apps) keeps the first subscriber.
    let _ = if config.format == "text" {
        builder.try_init()
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init()
    };
}
