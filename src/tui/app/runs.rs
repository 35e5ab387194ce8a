//! Background runs: start (after a PFX password prompt if needed), cancel, and take results.

use zeroize::Zeroizing;

use super::{App, Effect, Overlay, SecretInput, StatusKind};
use crate::diagnose::Severity;
use crate::session::{PasswordRef, TargetKind, TargetRun};
use crate::text::clean;

impl App {
    /// A background run finished. Stale results (cancelled or replaced runs) are dropped.
    pub fn on_finished(&mut self, id: u64, generation: u64, run: TargetRun) {
        if self.running.get(&id) != Some(&generation) {
            return;
        }
        self.running.remove(&id);
        let Some(i) = self.index_of(id) else { return };
        let name = std::mem::take(&mut self.session.targets[i].name);
        let mut run = run;
        run.name = name;
        let errors = run.findings.iter().filter(|f| f.severity == Severity::Error).count();
        let text = match &run.error {
            Some(e) => format!("{}: {}", clean(&run.name), clean(e)),
            None => format!("{} finished: {} finding(s), {errors} error(s)", clean(&run.name), run.findings.len()),
        };
        let kind = if run.error.is_some() { StatusKind::Error } else { StatusKind::Info };
        self.session.targets[i] = run;
        // A result is not a change the user made: `tui TARGET` quits with one `q` after its run.
        if i == self.selected {
            self.findings_index = 0;
            self.findings_scroll = 0;
            self.chain_index = 0;
        }
        // Progress notes give way to the result; a confirmation the user just got (copied,
        // saved) stays unless the run failed.
        let replaceable = self.status.as_ref().is_none_or(|s| s.kind == StatusKind::Info);
        if replaceable || kind == StatusKind::Error {
            self.set_status(kind, text);
        }
    }

    pub fn tick(&mut self) {
        self.spinner = self.spinner.wrapping_add(1);
    }

    pub(super) fn needs_password(&self, run: &TargetRun) -> Option<String> {
        let pfx = run.material.pfx.as_ref()?;
        (run.material.password == PasswordRef::Prompt && !self.passwords.contains_key(pfx)).then(|| pfx.clone())
    }

    /// Start target `id` now, or queue it behind a password prompt.
    pub(super) fn request(&mut self, id: u64) -> Vec<Effect> {
        let Some(i) = self.index_of(id) else { return vec![] };
        if self.needs_password(&self.session.targets[i]).is_some() {
            if !self.pending.contains(&id) {
                self.pending.push_back(id);
            }
            if matches!(self.overlay, Overlay::None) {
                return self.next_pending();
            }
            return vec![];
        }
        self.start(id).into_iter().collect()
    }

    pub(super) fn next_pending(&mut self) -> Vec<Effect> {
        while let Some(id) = self.pending.pop_front() {
            let Some(i) = self.index_of(id) else { continue };
            match self.needs_password(&self.session.targets[i]) {
                Some(file) => {
                    self.overlay = Overlay::Password { id, file, input: SecretInput(Zeroizing::new(String::new())) };
                    return vec![];
                }
                None => {
                    if let Some(e) = self.start(id) {
                        let mut effects = vec![e];
                        effects.extend(self.next_pending());
                        return effects;
                    }
                }
            }
        }
        vec![]
    }

    pub(super) fn start(&mut self, id: u64) -> Option<Effect> {
        let i = self.index_of(id)?;
        let run = self.session.targets[i].clone();
        if run.kind == TargetKind::Probe && run.options.is_none() {
            self.set_status(StatusKind::Error, format!("{}: no host to probe (e edits it)", clean(&run.name)));
            return None;
        }
        let password = run.material.pfx.as_ref().and_then(|p| self.passwords.get(p).cloned());
        self.generation += 1;
        self.running.insert(id, self.generation);
        Some(Effect::Run { id, generation: self.generation, run: Box::new(run), password })
    }

    pub fn run_selected(&mut self) -> Vec<Effect> {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: probes are not run");
            return vec![];
        }
        match self.id_at(self.selected) {
            Some(id) => {
                let effects = self.request(id);
                if !effects.is_empty() {
                    let name = self.target().map(|t| clean(&t.name)).unwrap_or_default();
                    self.set_status(StatusKind::Info, format!("Running {name} … (c cancels)"));
                }
                effects
            }
            None => {
                self.set_status(StatusKind::Info, "No target: a adds one");
                vec![]
            }
        }
    }

    pub fn run_all(&mut self) -> Vec<Effect> {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: probes are not run");
            return vec![];
        }
        let ids = self.ids.clone();
        let mut effects = vec![];
        for id in ids {
            effects.extend(self.request(id));
        }
        let n = self.running.len();
        self.set_status(StatusKind::Info, format!("Running {n} target(s) … (C cancels all)"));
        effects
    }

    pub fn cancel_selected(&mut self) -> Vec<Effect> {
        let Some(id) = self.id_at(self.selected) else { return vec![] };
        self.pending.retain(|p| *p != id);
        if self.running.remove(&id).is_some() {
            let name = self.target().map(|t| clean(&t.name)).unwrap_or_default();
            self.set_status(StatusKind::Info, format!("Cancelled {name}; its previous results are kept"));
            vec![Effect::Cancel { id }]
        } else {
            self.set_status(StatusKind::Info, "Nothing running for this target");
            vec![]
        }
    }

    pub fn cancel_all(&mut self) -> Vec<Effect> {
        self.pending.clear();
        let ids: Vec<u64> = self.running.drain().map(|(id, _)| id).collect();
        self.set_status(StatusKind::Info, format!("Cancelled {} run(s)", ids.len()));
        ids.into_iter().map(|id| Effect::Cancel { id }).collect()
    }
}
