//! Mesos's duration syntax: a number and a unit, `ns us ms secs mins hrs days weeks`.
//!
//! Mesos: 3rdparty/stout/include/stout/duration.hpp (`Duration::parse`, `operator<<`).
//! Flags such as `--allocation_interval=1secs` or `--agent_ping_timeout=500ms` use it.

use std::time::Duration;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{input}' is not a duration: expected a number and a unit (ns, us, ms, secs, mins, hrs, days, weeks), e.g. 10secs"
)]
pub struct DurationParseError {
    /// The rejected text.
    pub input: String,
}

const UNITS: [(&str, f64); 8] = [
    ("ns", 1e-9),
    ("us", 1e-6),
    ("ms", 1e-3),
    ("secs", 1.0),
    ("mins", 60.0),
    ("hrs", 3600.0),
    ("days", 86_400.0),
    ("weeks", 604_800.0),
];

/// Parses `500ms`, `1secs`, `2.5mins`, ... (negative, unknown units and overflow are errors).
pub fn parse_duration(text: &str) -> Result<Duration, DurationParseError> {
    let error = || DurationParseError { input: text.to_string() };
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(error)?;
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number.trim().parse().map_err(|_| error())?;
    let scale = UNITS.iter().find(|(name, _)| *name == unit).map(|(_, s)| *s).ok_or_else(error)?;
    let secs = value * scale;
    if !secs.is_finite() || secs < 0.0 {
        return Err(error());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| error())
}

/// Prints a duration the way Mesos does: the largest unit that keeps it exact-ish
/// (`1secs`, `500ms`, `10mins`).
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0ns".to_string();
    }
    for (name, scale) in UNITS.iter().rev() {
        let unit_nanos = (scale * 1e9) as u128;
        if nanos >= unit_nanos {
            let value = nanos as f64 / unit_nanos as f64;
            return if value.fract() == 0.0 {
                format!("{value:.0}{name}")
            } else {
                format!("{value}{name}")
            };
        }
    }
    format!("{nanos}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every unit parses; the printed form parses back to the same duration.
    #[test]
    fn parse_and_format() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1secs"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("10mins"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2hrs"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1days"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1weeks"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1.5secs"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3us"), Ok(Duration::from_micros(3)));
        for d in [Duration::from_secs(15), Duration::from_millis(250), Duration::from_secs(600)] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(15)), "15secs");
        assert_eq!(format_duration(Duration::from_secs(600)), "10mins");
    }

    /// Missing units, unknown units, negatives and garbage are errors.
    #[test]
    fn rejects_bad_durations() {
        for bad in ["", "10", "secs", "10seconds", "-1secs", "1e400secs", "abc", "1 0secs"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
