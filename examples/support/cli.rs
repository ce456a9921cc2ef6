//! The command-line value parsers that the examples share (through
//! `#[path]`: a file under `examples/support/` is not an example itself).

use std::time::Duration;

/// Parses a whole number above 0.
pub fn whole_number(value: &str) -> Result<usize, String> {
    value
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "not a whole number above 0".to_string())
}

/// Parses seconds above 0, up to a day.
pub fn seconds(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 86400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "not a number of seconds above 0, up to a day".to_string())
}
