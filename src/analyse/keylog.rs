//! Which key log decrypts a run: the client's if valid, else the server's
//! (contract section 4).

use quic_trace::KeyLog;

use std::sync::Arc;

use super::{AnalysisError, KeyLogFile};
use crate::layout::Role;

/// The label whose presence makes a key log "valid" (contract section 4).
const HANDSHAKE_SECRET_LABEL: &str = "SERVER_HANDSHAKE_TRAFFIC_SECRET";

/// The first valid key log of `files` (client first); a file that claims
/// to be a key log but does not parse is an error.
pub fn choose_keylog(files: &[KeyLogFile]) -> Result<Option<(Role, KeyLog)>, AnalysisError> {
    for file in files {
        if !contains(&file.bytes, HANDSHAKE_SECRET_LABEL.as_bytes()) {
            continue;
        }
        let mut log = KeyLog::default();
        log.add_text(&file.bytes, &file.path.display().to_string())
            .map_err(|e| AnalysisError::KeyLog {
                role: file.role,
                source: Arc::new(e),
            })?;
        return Ok(Some((file.role, log)));
    }
    Ok(None)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
