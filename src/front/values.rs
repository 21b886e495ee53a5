//! Parsing of option values that both front ends share: yes/no switches,
//! the trial count to run at once, and environment variables that are not
//! UTF-8. A value that is not one of the documented spellings is an error,
//! never a guess, so a typo in CI cannot silently turn an option off.

use std::ffi::OsString;

use crate::front::FrontError;

/// The spellings a switch accepts, as the README and `--help` document them.
pub const TRUE_WORDS: &[&str] = &["1", "true", "yes", "on"];
pub const FALSE_WORDS: &[&str] = &["0", "false", "no", "off"];

/// Parses a switch value; `what` names the flag or variable in the error.
pub fn parse_switch(what: &str, value: &str) -> Result<bool, FrontError> {
    let v = value.trim();
    if TRUE_WORDS.iter().any(|w| v.eq_ignore_ascii_case(w)) {
        Ok(true)
    } else if FALSE_WORDS.iter().any(|w| v.eq_ignore_ascii_case(w)) {
        Ok(false)
    } else {
        Err(FrontError::BadSwitch {
            what: what.to_string(),
            value: value.to_string(),
        })
    }
}

/// clap's value parser for `-f [VALUE]` and the like.
pub fn switch_arg(value: &str) -> Result<bool, String> {
    parse_switch("the value", value).map_err(|e| e.to_string())
}

/// clap's value parser for `--parallel`: at least one trial at a time.
pub fn parallel_arg(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("\"{value}\" is not a whole number")),
    }
}

/// Trials run at once: what was asked, but never more threads than trials.
pub fn workers_for(asked: usize, trials: usize) -> usize {
    asked.clamp(1, trials.max(1))
}

/// An environment variable as text: unset is `None`, a value that is not
/// UTF-8 is an error (treating it as unset would widen the selection).
pub fn env_text(name: &str, value: Option<OsString>) -> Result<Option<String>, FrontError> {
    match value {
        None => Ok(None),
        Some(v) => v
            .into_string()
            .map(Some)
            .map_err(|raw| FrontError::NotUtf8 {
                name: name.to_string(),
                value: raw.to_string_lossy().into_owned(),
            }),
    }
}

/// A switch variable: unset or empty is off, otherwise one of the spellings.
pub fn env_switch(name: &str, value: Option<String>) -> Result<bool, FrontError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(false),
        Some(v) => parse_switch(name, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn switches_take_only_the_documented_spellings() {
        for v in ["1", "true", "YES", " on "] {
            assert!(parse_switch("-f", v).unwrap(), "{v}");
        }
        for v in ["0", "false", "No", "off"] {
            assert!(!parse_switch("-f", v).unwrap(), "{v}");
        }
        for v in ["banana", "nope", "2", "", "y"] {
            let e = parse_switch("INTEROP_MARKDOWN", v).unwrap_err().to_string();
            assert!(
                e.contains("INTEROP_MARKDOWN") && e.contains("1, true"),
                "{e}"
            );
        }
    }

    #[test]
    fn an_unset_or_empty_switch_variable_is_off() {
        assert!(!env_switch("INTEROP_DEBUG", None).unwrap());
        assert!(!env_switch("INTEROP_DEBUG", Some(String::new())).unwrap());
        assert!(env_switch("INTEROP_DEBUG", Some("1".into())).unwrap());
        assert!(env_switch("INTEROP_DEBUG", Some("nope".into())).is_err());
    }

    #[test]
    fn parallel_is_at_least_one_and_capped_at_the_trials() {
        assert!(parallel_arg("0").is_err());
        assert!(parallel_arg("-3").is_err());
        assert!(parallel_arg("many").is_err());
        assert_eq!(parallel_arg("100000"), Ok(100_000));
        assert_eq!(workers_for(100_000, 8), 8);
        assert_eq!(workers_for(4, 8), 4);
        assert_eq!(workers_for(4, 0), 1);
    }

    #[test]
    fn a_non_utf8_variable_is_an_error_not_unset() {
        let raw = OsString::from_vec(vec![b'q', 0xff, b'x']);
        let e = env_text("INTEROP_SERVERS", Some(raw))
            .unwrap_err()
            .to_string();
        assert!(e.contains("INTEROP_SERVERS") && e.contains("UTF-8"), "{e}");
        assert_eq!(env_text("X", None).unwrap(), None);
        assert_eq!(
            env_text("X", Some("a".into())).unwrap(),
            Some("a".to_string())
        );
    }
}
