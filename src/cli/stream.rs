//! Sweeps that write as they go, for `probe` and `replay`. `--report jsonl`: each target's record
//! is written and flushed the moment the target is done, so an interrupted sweep leaves every
//! finished record on disk, whole; the summary record comes last. The text report of several
//! targets on standard output: each target's block as soon as it and every target before it are
//! done, so the output is the same as the whole report, in the order given. The session
//! (`--save`) is spooled target by target and written after the last one.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use super::args::OutputArgs;
use crate::error::{Error, Result};
use crate::report::{target_text, SummaryRecord, TargetRecord};
use crate::session::{self, TargetRun};

/// Where the records go: `-o FILE` (created or truncated before the first probe) or stdout.
pub(super) struct Stream {
    sink: Sink,
    mode: Mode,
    summary: SummaryRecord,
    /// The first write that failed (a full disk, a closed pipe): later records are not attempted.
    failed: Option<String>,
    /// The secret values any target sends, cut out of every target's output.
    secrets: Vec<String>,
    /// Stdout was closed by its reader: nothing more is written, and that is not an error.
    closed: bool,
}

enum Mode {
    Jsonl,
    /// Blocks finished out of order wait here until the ones before them are written.
    Text {
        several: bool,
        next: usize,
        waiting: BTreeMap<usize, String>,
    },
}

enum Sink {
    Stdout,
    File(std::fs::File, String),
}

impl Stream {
    /// Cut `secrets` (what the targets send) out of every record (before the sweep starts).
    pub(super) fn with_secrets(mut self, secrets: Vec<String>) -> Self {
        self.secrets = secrets;
        self
    }

    /// Whether records are written in the order the targets were given (the text report).
    pub(super) fn in_order(&self) -> bool {
        matches!(self.mode, Mode::Text { .. })
    }

    pub(super) fn jsonl(output: &OutputArgs, targets: usize) -> Result<Self> {
        let sink = match &output.output {
            Some(path) => Sink::File(create(path)?, path.display().to_string()),
            None => Sink::Stdout,
        };
        Ok(Stream {
            sink,
            mode: Mode::Jsonl,
            summary: SummaryRecord::new(targets),
            failed: None,
            closed: false,
            secrets: Vec::new(),
        })
    }

    /// The text report on standard output, block by block.
    pub(super) fn text(targets: usize) -> Self {
        let mode = Mode::Text { several: targets > 1, next: 0, waiting: BTreeMap::new() };
        Stream {
            sink: Sink::Stdout,
            mode,
            summary: SummaryRecord::new(targets),
            failed: None,
            closed: false,
            secrets: Vec::new(),
        }
    }

    /// Redact the finished target and write its record as one line, flushed; the redacted run
    /// is returned (what a saved session keeps).
    pub(super) fn target(&mut self, index: usize, run: TargetRun) -> TargetRun {
        let name = run.name.clone();
        let safe = match session::redact_target(run, &self.secrets) {
            Ok(t) => t,
            Err(e) => crate::engine::with_error(TargetRun { name, ..Default::default() }, e.to_string()),
        };
        self.summary.add(&safe);
        match &mut self.mode {
            Mode::Jsonl => {
                let line = TargetRecord::new(index, &safe).line() + "\n";
                self.write(&line);
            }
            Mode::Text { several, next, waiting } => {
                waiting.insert(index, target_text(&safe, *several, false));
                let mut ready = String::new();
                while let Some(block) = waiting.remove(next) {
                    ready.push_str(&block);
                    *next += 1;
                }
                if !ready.is_empty() {
                    self.write(&ready);
                }
            }
        }
        safe
    }

    /// Write the summary record (JSON Lines); an earlier write failure is the error.
    pub(super) fn finish(mut self) -> Result<i32> {
        if let Mode::Jsonl = self.mode {
            let line = self.summary.line() + "\n";
            self.write(&line);
        }
        match self.failed {
            Some(e) => Err(Error::Usage(e)),
            None => Ok(self.summary.exit_code),
        }
    }

    /// One write of whole lines, flushed: a kill between records never leaves half of one.
    fn write(&mut self, text: &str) {
        if self.failed.is_some() || self.closed {
            return;
        }
        let bytes = text.as_bytes();
        match &mut self.sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                // A closed pipe (`| head`) ends the output quietly, as the other reports do.
                if out.write_all(bytes).and_then(|_| out.flush()).is_err() {
                    self.closed = true;
                }
            }
            Sink::File(f, name) => {
                if let Err(e) = f.write_all(bytes).and_then(|_| f.flush()) {
                    self.failed = Some(format!("{name}: cannot write the report ({e})"));
                }
            }
        }
    }
}

fn create(path: &Path) -> Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| Error::io(path, e))
}
