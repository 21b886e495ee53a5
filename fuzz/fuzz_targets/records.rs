//! The readers of what a run leaves: trial.json and the run file's lines.
//! Any text gives checked records or errors, never a panic.
#![no_main]

use std::path::Path;

use interop_runner::outcome::run::parse_run_file;
use interop_runner::outcome::TrialRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = TrialRecord::parse(text, Path::new("trial.json")) {
        assert!(r.start_time.is_finite() && r.end_time.is_finite());
        let again = serde_json::to_string(&r).unwrap();
        assert_eq!(TrialRecord::parse(&again, Path::new("trial.json")).unwrap(), r);
    }
    let (run, _problems) = parse_run_file(text, "run-1-1.jsonl");
    for r in &run.trials {
        assert!(!r.server.is_empty() && !r.client.is_empty());
    }
});
