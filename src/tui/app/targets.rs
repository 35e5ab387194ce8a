//! Changing the session's targets: add, edit through the form, duplicate, delete.

use super::{App, Effect, Overlay, StatusKind};
use crate::session::{TargetKind, TargetRun};
use crate::text::clean;
use crate::tui::form::{FormTarget, TargetForm};

impl App {
    pub(super) fn edit(&mut self) {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: targets cannot be edited");
            return;
        }
        let Some(id) = self.id_at(self.selected) else {
            self.add();
            return;
        };
        let Some(t) = self.target() else { return };
        if t.kind == TargetKind::Inspect {
            self.set_status(StatusKind::Info, "This target inspects files; the form edits probe targets (a adds one)");
            return;
        }
        self.overlay = Overlay::Form(Box::new(TargetForm::new(FormTarget::Existing(id), t)));
    }

    pub(super) fn add(&mut self) {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: targets cannot be added");
            return;
        }
        let mut form = TargetForm::new(FormTarget::New, &TargetRun::default());
        form.focus = 2; // the host: the one field every target needs
        self.overlay = Overlay::Form(Box::new(form));
    }

    pub(super) fn duplicate(&mut self) {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: targets cannot be added");
            return;
        }
        let Some(t) = self.target() else { return };
        // Inputs only: the copy is meant to be changed and run.
        let copy = TargetRun {
            name: format!("{} (copy)", t.name),
            kind: t.kind,
            options: t.options.clone(),
            files: t.files.clone(),
            material: t.material.clone(),
            ..Default::default()
        };
        let name = clean(&copy.name);
        self.insert_target(self.selected + 1, copy);
        self.set_status(StatusKind::Ok, format!("Added {name} (e edits it)"));
    }

    pub(super) fn confirm_delete(&mut self) {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: targets cannot be deleted");
            return;
        }
        if let Some(id) = self.id_at(self.selected) {
            self.overlay = Overlay::ConfirmDelete { id };
        }
    }

    pub(super) fn delete(&mut self, id: u64) -> Vec<Effect> {
        let Some(i) = self.index_of(id) else { return vec![] };
        let removed = self.session.targets.remove(i);
        self.ids.remove(i);
        self.pending.retain(|p| *p != id);
        self.dirty = true;
        let keep = self.selected.min(self.session.targets.len().saturating_sub(1));
        self.selected = usize::MAX;
        self.select(keep);
        self.set_status(StatusKind::Ok, format!("Deleted {}", clean(&removed.name)));
        if self.running.remove(&id).is_some() {
            vec![Effect::Cancel { id }]
        } else {
            vec![]
        }
    }

    pub(super) fn apply_form(&mut self, target: FormTarget, run: TargetRun) -> Vec<Effect> {
        let mut effects = vec![];
        let name = clean(&run.name);
        match target {
            FormTarget::Existing(id) => {
                let Some(i) = self.index_of(id) else { return effects };
                if self.session.targets[i] != run {
                    if self.running.remove(&id).is_some() {
                        effects.push(Effect::Cancel { id });
                    }
                    self.session.targets[i] = run;
                    self.dirty = true;
                }
                self.set_status(StatusKind::Ok, format!("Saved {name} (r runs it)"));
            }
            FormTarget::New => {
                let at = if self.session.targets.is_empty() { 0 } else { self.selected + 1 };
                self.insert_target(at, run);
                self.set_status(StatusKind::Ok, format!("Added {name} (r runs it)"));
            }
        }
        effects
    }

    pub(super) fn insert_target(&mut self, at: usize, run: TargetRun) {
        let at = at.min(self.session.targets.len());
        self.session.targets.insert(at, run);
        self.ids.insert(at, self.next_id);
        self.next_id += 1;
        self.dirty = true;
        self.selected = usize::MAX;
        self.select(at);
    }
}
