//! Why a rule stopped short of success: a failure, or a check that cannot
//! be made (no key log).

#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    Failed(String),
    Unsupported(String),
}

impl From<String> for Stop {
    fn from(reason: String) -> Stop {
        Stop::Failed(reason)
    }
}

/// What a rule returns: `Ok` when it holds.
pub type RuleResult = Result<(), Stop>;

/// Fails with `reason` unless `holds`.
pub fn ensure(holds: bool, reason: impl FnOnce() -> String) -> RuleResult {
    if holds {
        Ok(())
    } else {
        Err(Stop::Failed(reason()))
    }
}
