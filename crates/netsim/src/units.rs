//! Parsing of ns-3 style quantities (`15ms`, `10Mbps`) used on the scenario
//! command line, so that existing scenario strings keep working unchanged.

use std::time::Duration;

/// Why a quantity does not parse; each renders as the clause after
/// "bad value --flag=value: ".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error("unknown time unit {unit:?} in {text:?} (use s, ms, us, ns, min or h)")]
    TimeUnit { unit: String, text: String },
    #[error("time {0:?} is out of range")]
    TimeRange(String),
    #[error("unknown rate unit {unit:?} in {text:?} (use bps, kbps, Mbps or Gbps)")]
    RateUnit { unit: String, text: String },
    #[error("rate {0:?} is out of range (1 bps to 10 Tbps)")]
    RateRange(String),
    #[error("{0:?} does not start with a number")]
    NoNumber(String),
    #[error("{0:?} does not start with a valid number")]
    BadNumber(String),
}

/// Parses a time such as `15ms`, `1s`, `2.5s`, `750us`; a bare number means seconds,
/// as in ns-3.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let (number, unit): (&str, &str) = split_number(text);
    let value: f64 = parse_number(number, text)?;
    let seconds_per_unit: f64 = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "ns" => 1e-9,
        "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(UnitError::TimeUnit {
                unit: unit.to_string(),
                text: text.to_string(),
            })
        }
    };
    let seconds: f64 = value * seconds_per_unit;
    if !seconds.is_finite() || seconds > 1e9 {
        return Err(UnitError::TimeRange(text.to_string()));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Parses a data rate such as `10Mbps`, `1Gb/s`, `500kbps` into bits per second.
pub fn parse_rate(text: &str) -> Result<u64, UnitError> {
    let (number, unit): (&str, &str) = split_number(text);
    let value: f64 = parse_number(number, text)?;
    let multiplier: f64 = rate_multiplier(unit).ok_or_else(|| UnitError::RateUnit {
        unit: unit.to_string(),
        text: text.to_string(),
    })?;
    let bits: f64 = value * multiplier;
    if !bits.is_finite() || !(1.0..=1e13).contains(&bits) {
        return Err(UnitError::RateRange(text.to_string()));
    }
    Ok(bits.round() as u64)
}

fn rate_multiplier(unit: &str) -> Option<f64> {
    let (scaled, per_byte): (&str, bool) = if let Some(prefix) = unit.strip_suffix("bps") {
        (prefix, false)
    } else if let Some(prefix) = unit.strip_suffix("b/s") {
        (prefix, false)
    } else if let Some(prefix) = unit.strip_suffix("Bps") {
        (prefix, true)
    } else if let Some(prefix) = unit.strip_suffix("B/s") {
        (prefix, true)
    } else {
        return None;
    };
    let scale: f64 = match scaled {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(if per_byte { scale * 8.0 } else { scale })
}

fn split_number(text: &str) -> (&str, &str) {
    let end: usize = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text.split_at(end)
}

fn parse_number(number: &str, whole: &str) -> Result<f64, UnitError> {
    if number.is_empty() {
        return Err(UnitError::NoNumber(whole.to_string()));
    }
    number
        .parse::<f64>()
        .map_err(|_| UnitError::BadNumber(whole.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15ms"), Ok(Duration::from_millis(15)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("750us"), Ok(Duration::from_micros(750)));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("15 ms").is_err());
        assert!(parse_duration("15parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("-5ms").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10Mbps"), Ok(10_000_000));
        assert_eq!(parse_rate("1Gbps"), Ok(1_000_000_000));
        assert_eq!(parse_rate("500kbps"), Ok(500_000));
        assert_eq!(parse_rate("500Kb/s"), Ok(500_000));
        assert_eq!(parse_rate("1MBps"), Ok(8_000_000));
        assert_eq!(parse_rate("1Mib/s"), Ok(1_048_576));
        assert_eq!(parse_rate("2.5Mbps"), Ok(2_500_000));
        assert!(parse_rate("10").is_err());
        assert!(parse_rate("10Mbit").is_err());
        assert!(parse_rate("0Mbps").is_err());
        assert!(parse_rate("Mbps").is_err());
    }
}
