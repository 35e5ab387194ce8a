//! `--report jsonl` for `probe` and `replay`: each target's record is written and flushed the
//! moment the target is done, so an interrupted sweep leaves every finished record on disk, whole.
//! The summary record comes last, after every target; the session (`--save`) is saved after it.

use std::io::Write as _;
use std::path::Path;

use super::args::{OutputArgs, SaveArgs};
use crate::error::{Error, Result};
use crate::report::{SummaryRecord, TargetRecord};
use crate::session::{self, Session, TargetRun};

/// Where the records go: `-o FILE` (created or truncated before the first probe) or stdout.
pub(super) struct Stream {
    sink: Sink,
    summary: SummaryRecord,
    /// The first write that failed (a full disk, a closed pipe): later records are not attempted.
    failed: Option<String>,
    /// Stdout was closed by its reader: nothing more is written, and that is not an error.
    closed: bool,
}

enum Sink {
    Stdout,
    File(std::fs::File, String),
}

impl Stream {
    pub(super) fn open(output: &OutputArgs, targets: usize) -> Result<Self> {
        let sink = match &output.output {
            Some(path) => Sink::File(create(path)?, path.display().to_string()),
            None => Sink::Stdout,
        };
        Ok(Stream { sink, summary: SummaryRecord::new(targets), failed: None, closed: false })
    }

    /// Redact the finished target and write its record as one line, flushed.
    pub(super) fn target(&mut self, index: usize, run: &TargetRun) {
        let safe = match session::redacted(&Session::new(vec![run.clone()])) {
            Ok(mut s) => s.targets.pop().unwrap_or_default(),
            Err(e) => crate::engine::with_error(TargetRun { name: run.name.clone(), ..Default::default() }, e.to_string()),
        };
        self.summary.add(&safe);
        self.line(&TargetRecord::new(index, &safe).line());
    }

    /// Write the summary record; an earlier write failure is the error.
    pub(super) fn finish(mut self) -> Result<i32> {
        let line = self.summary.line();
        self.line(&line);
        match self.failed {
            Some(e) => Err(Error::Usage(e)),
            None => Ok(self.summary.exit_code),
        }
    }

    fn line(&mut self, line: &str) {
        if self.failed.is_some() || self.closed {
            return;
        }
        // One write of the whole line: a kill between records never leaves half of one.
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        match &mut self.sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                // A closed pipe (`| head`) ends the output quietly, as the other reports do.
                if out.write_all(&bytes).and_then(|_| out.flush()).is_err() {
                    self.closed = true;
                }
            }
            Sink::File(f, name) => {
                if let Err(e) = f.write_all(&bytes).and_then(|_| f.flush()) {
                    self.failed = Some(format!("{name}: cannot write the report ({e})"));
                }
            }
        }
    }
}

fn create(path: &Path) -> Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| Error::io(path, e))
}

/// Save the session of a streamed sweep when asked (the records are already written).
pub(super) fn save(session: &Session, save: &SaveArgs) -> Result<()> {
    if let Some(path) = &save.save {
        session::save(&session::redacted(session)?, path)?;
    }
    Ok(())
}
