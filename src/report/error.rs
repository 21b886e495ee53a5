//! Why records or result files could not be read or merged; each names the
//! file first, as the command line prints them.

use std::path::PathBuf;

use crate::outcome::{Outcome, RecordError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(transparent)]
    Read(#[from] crate::input::InputError),
    #[error("{}: not a result.json: {source}", path.display())]
    NotResultJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: expected {pairs} result lists for {clients} clients × {servers} servers, found {found}", path.display())]
    WrongShape {
        path: PathBuf,
        pairs: usize,
        clients: usize,
        servers: usize,
        found: usize,
    },
    #[error("{}: unknown result \"{result}\" for {server}/{client}/{test}", path.display())]
    UnknownResult {
        path: PathBuf,
        result: String,
        server: String,
        client: String,
        test: String,
    },
    #[error("{}: {outcome} for server {server} / client {client} / test {test} conflicts with an earlier shard's {earlier}", path.display())]
    Conflict {
        path: PathBuf,
        outcome: Outcome,
        server: String,
        client: String,
        test: String,
        earlier: Outcome,
    },
    #[error("two records for {trial} disagree ({first} says {first_outcome}, {second} says {second_outcome}); remove the stale one")]
    ConflictingRecords {
        trial: String,
        first: String,
        first_outcome: Outcome,
        second: String,
        second_outcome: Outcome,
    },
    #[error("{}: {list} lists \"{name}\" twice", path.display())]
    DuplicateName {
        path: PathBuf,
        list: &'static str,
        name: String,
    },
    #[error("{}: a result for test \"{name}\" ({abbr}) that the file's tests do not list", path.display())]
    UnlistedTest {
        path: PathBuf,
        abbr: String,
        name: String,
    },
    #[error("{}: the abbreviation {abbr} stands for both \"{first}\" and \"{second}\"", path.display())]
    AbbreviationClash {
        path: PathBuf,
        abbr: String,
        first: String,
        second: String,
    },
    #[error("no result.json files to merge")]
    NothingToMerge,
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("{}: cannot be written: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {what} could not be made: {reason}")]
    Render { what: &'static str, reason: String },
}
