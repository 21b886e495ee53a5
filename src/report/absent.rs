//! Implementations that never ran in a run (their image could not be had,
//! or they failed the compliance pre-check): a matrix column of `?` for
//! each says nothing the one line with the reason does not say better.

use super::Results;

/// An implementation none of whose trials ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRun {
    pub name: String,
    /// "server", "client" or "server, client": where it was selected.
    pub roles: String,
    /// The reason of its first trial, e.g. why its image is unavailable.
    pub reason: String,
}

impl NotRun {
    /// The reason without the `<name> (<role>): ` the runner starts it
    /// with, since the list names the implementation already.
    pub fn why(&self) -> &str {
        let rest = self.reason.strip_prefix(self.name.as_str());
        rest.and_then(|r| r.strip_prefix(" ("))
            .and_then(|r| r.split_once("): "))
            .map_or(self.reason.as_str(), |(_, why)| why)
    }
}

impl Results {
    /// Implementations marked unavailable whose every trial (as server or
    /// client) did not run, in the order servers then clients.
    pub fn not_run(&self) -> Vec<NotRun> {
        let mut out: Vec<NotRun> = Vec::new();
        for name in self.servers.iter().chain(&self.clients) {
            if out.iter().any(|n| &n.name == name) {
                continue;
            }
            let mut involved = self
                .entries
                .iter()
                .filter(|((s, c, _), _)| s == name || c == name)
                .peekable();
            if involved.peek().is_none() {
                continue;
            }
            let mut reason: Option<&str> = None;
            let mut all_unavailable = true;
            for (_, e) in involved {
                match &e.unavailable {
                    Some(who) if who == name => {
                        reason = reason.or(Some(e.reason.as_str()));
                    }
                    Some(_) => {}
                    None => all_unavailable = false,
                }
            }
            if let (true, Some(reason)) = (all_unavailable, reason) {
                let roles = [
                    ("server", self.servers.contains(name)),
                    ("client", self.clients.contains(name)),
                ]
                .iter()
                .filter(|(_, on)| *on)
                .map(|(r, _)| *r)
                .collect::<Vec<_>>()
                .join(", ");
                out.push(NotRun {
                    name: name.clone(),
                    roles,
                    reason: reason.to_string(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::outcome::Outcome;
    use crate::report::tests::{record, small_results};

    #[test]
    fn only_implementations_whose_every_trial_did_not_run() {
        let mut r = small_results(&["quic-go", "nginx"], &["aioquic", "curl"], "handshake");
        let unavailable = |s: &str, c: &str, who: &str| {
            let mut rec = record(s, c, "handshake", Outcome::Unsupported);
            rec.unavailable = Some(who.to_string());
            rec.reason = format!("{who}: image unavailable");
            rec
        };
        let recs = [
            unavailable("nginx", "aioquic", "nginx"),
            unavailable("nginx", "curl", "nginx"),
            unavailable("quic-go", "curl", "curl"),
            record("quic-go", "aioquic", "handshake", Outcome::Succeeded),
        ];
        for rec in &recs {
            r.insert(rec);
        }
        let absent = r.not_run();
        let names: Vec<&str> = absent.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["nginx", "curl"]);
        assert_eq!(absent[0].roles, "server");
        assert_eq!(absent[0].reason, "nginx: image unavailable");
        assert_eq!(absent[0].why(), "nginx: image unavailable");
        let prefixed = super::NotRun {
            reason: "nginx (server): image unavailable".into(),
            ..absent[0].clone()
        };
        assert_eq!(prefixed.why(), "image unavailable");
        assert_eq!(absent[1].roles, "client");

        // one real trial of curl keeps it in the matrix
        r.insert(&record("quic-go", "curl", "handshake", Outcome::Failed));
        let names: Vec<String> = r.not_run().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["nginx"]);
    }
}
