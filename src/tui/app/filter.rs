//! The `/` filter (the k9s and lazygit habit): a text that narrows the targets list and the
//! findings to what mentions it, and `n`/`N` to step from match to match.
//!
//! A target matches by its name or host; a finding by its id, title or subject; both
//! case-insensitively, as a substring. A target is listed when it or one of its findings matches;
//! of a target that matched by name or host every finding is shown, of any other only the
//! findings that match.

use super::{App, Pane, StatusKind};
use crate::diagnose::Finding;
use crate::session::TargetRun;

/// One match, in screen order: a target (by name or host), or one of its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Match {
    pub target: usize,
    pub finding: Option<usize>,
}

fn contains(haystack: &str, needle_lower: &str) -> bool {
    haystack.to_lowercase().contains(needle_lower)
}

fn target_matches(t: &TargetRun, q: &str) -> bool {
    contains(&t.name, q) || t.options.as_ref().is_some_and(|o| contains(&o.host, q))
}

fn finding_matches(f: &Finding, q: &str) -> bool {
    contains(f.id.as_str(), q) || contains(&f.title, q) || f.subject.as_deref().is_some_and(|s| contains(s, q))
}

impl App {
    /// The filter text in force, lower-cased; `None` when there is none.
    fn query(&self) -> Option<String> {
        let q = self.filter.trim();
        (!q.is_empty()).then(|| q.to_lowercase())
    }

    pub fn filter_active(&self) -> bool {
        self.query().is_some()
    }

    /// Every match in screen order (targets in list order, each followed by its findings).
    pub fn matches(&self) -> Vec<Match> {
        let Some(q) = self.query() else { return vec![] };
        let mut out = Vec::new();
        for (i, t) in self.session.targets.iter().enumerate() {
            if target_matches(t, &q) {
                out.push(Match { target: i, finding: None });
            }
            for (j, f) in t.findings.iter().enumerate() {
                if finding_matches(f, &q) {
                    out.push(Match { target: i, finding: Some(j) });
                }
            }
        }
        out
    }

    /// Indices of the targets the list shows.
    pub fn visible_targets(&self) -> Vec<usize> {
        let Some(q) = self.query() else { return (0..self.session.targets.len()).collect() };
        let shown = |t: &TargetRun| target_matches(t, &q) || t.findings.iter().any(|f| finding_matches(f, &q));
        self.session.targets.iter().enumerate().filter(|(_, t)| shown(t)).map(|(i, _)| i).collect()
    }

    /// Indices of the selected target's findings the Findings pane shows.
    pub fn visible_findings(&self) -> Vec<usize> {
        let Some(t) = self.target() else { return vec![] };
        match self.query() {
            Some(q) if !target_matches(t, &q) => {
                t.findings.iter().enumerate().filter(|(_, f)| finding_matches(f, &q)).map(|(i, _)| i).collect()
            }
            _ => (0..t.findings.len()).collect(),
        }
    }

    /// The filter text changed: keep the selection on a listed target and a shown finding.
    pub(super) fn filter_changed(&mut self) {
        let targets = self.visible_targets();
        if !targets.is_empty() && !targets.contains(&self.selected) {
            self.select(targets[0]);
        }
        let findings = self.visible_findings();
        if let Some(first) = findings.first() {
            if !findings.contains(&self.findings_index) {
                self.findings_index = *first;
                self.findings_scroll = 0;
            }
        }
    }

    pub(super) fn clear_filter(&mut self) {
        if self.filter_active() {
            self.set_status(StatusKind::Info, "Filter cleared");
        }
        self.filter.clear();
    }

    /// `n` (forward) or `N`: select the next or previous match, wrapping around; a finding's
    /// match also focuses the Findings pane, a target's the list.
    pub(super) fn next_match(&mut self, forward: bool) {
        let matches = self.matches();
        if matches.is_empty() {
            let text = if self.filter_active() { "No match: Esc clears the filter" } else { "No filter: / starts one" };
            self.set_status(StatusKind::Info, text);
            return;
        }
        let here =
            Match { target: self.selected, finding: (self.focus == Pane::Findings).then_some(self.findings_index) };
        let next = if forward {
            matches.iter().find(|m| **m > here).or(matches.first())
        } else {
            matches.iter().rev().find(|m| **m < here).or(matches.last())
        };
        let Some(m) = next.copied() else { return };
        self.select(m.target);
        match m.finding {
            Some(j) => {
                self.findings_index = j;
                self.findings_scroll = 0;
                self.focus_pane(Pane::Findings);
            }
            None => self.focus = Pane::Targets,
        }
        let at = matches.iter().position(|x| *x == m).map(|p| p + 1).unwrap_or(0);
        self.set_status(StatusKind::Info, format!("Match {at} of {}", matches.len()));
    }
}
