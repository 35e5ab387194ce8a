//! Targets for a sweep, read as it runs. A plain targets file is checked line by line first (so a
//! bad line is still an input error before anything runs) and then read again lazily, one line
//! per target started; a TOML file is parsed whole and kept as its tables (only what each sets),
//! each table becoming a target when its turn comes. Either way what stays in memory per target
//! is at most its table, not its run. With [`BadEntry::Record`] a line or table that is wrong on
//! its own is not the error: it becomes a target carrying its one-line error, and the others run.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};

use super::{plain_label, plain_line, toml_at, toml_label, toml_run, BadEntry, TargetDefaults, TomlTables, TomlTarget};
use crate::error::{Error, Result};
use crate::session::{self, MaterialRefs, TargetRun};

/// No line of a plain targets file is longer than this (a host name is at most 253 bytes).
const MAX_LINE_BYTES: usize = 16 * 1024;

/// The targets of a command line and its targets file, yielded one by one.
pub struct TargetSource {
    given: std::vec::IntoIter<TargetRun>,
    file: FilePart,
    len: usize,
    materials: Vec<MaterialRefs>,
    /// Per entry of `materials`: `FILE:LINE` of the first target of the file that names it, None
    /// when a target of the command line (or a replayed session) does.
    material_origins: Vec<Option<String>>,
    secrets: Vec<String>,
}

enum FilePart {
    None,
    Plain {
        lines: Lines,
        defaults: TargetDefaults,
    },
    Toml {
        tables: std::vec::IntoIter<std::result::Result<TomlTarget, (String, Error)>>,
        /// Indexes of the tables whose name an earlier table took.
        duplicates: HashSet<usize>,
        lines: Vec<usize>,
        origin: String,
        base: PathBuf,
        defaults: TargetDefaults,
        next: usize,
    },
}

impl TargetSource {
    /// Targets already built (a command line's, a replayed session's).
    pub fn from_runs(runs: Vec<TargetRun>) -> Self {
        let mut seen = HashSet::new();
        let materials: Vec<MaterialRefs> =
            runs.iter().filter(|r| seen.insert(&r.material)).map(|r| r.material.clone()).collect();
        let secrets = session::secrets_of(&runs);
        TargetSource {
            len: runs.len(),
            given: runs.into_iter(),
            file: FilePart::None,
            material_origins: vec![None; materials.len()],
            materials,
            secrets,
        }
    }

    /// `given` followed by the targets of `file`, every one of which is checked now. With
    /// [`BadEntry::Abort`] a bad line or table is the error (naming the file and line), before
    /// anything runs; with [`BadEntry::Record`] it is a target that reports it.
    pub fn with_file(given: Vec<TargetRun>, file: &Path, defaults: &TargetDefaults, bad: BadEntry) -> Result<Self> {
        let mut source = TargetSource::from_runs(given);
        let mut materials: HashSet<MaterialRefs> = source.materials.iter().cloned().collect();
        let mut secrets: HashSet<String> = source.secrets.iter().cloned().collect();
        let mut note = |run: &TargetRun, at: &str| {
            if !materials.contains(&run.material) {
                materials.insert(run.material.clone());
                source.materials.push(run.material.clone());
                source.material_origins.push(Some(at.to_string()));
            }
            for s in session::secrets_of(std::slice::from_ref(run)) {
                if secrets.insert(s.clone()) {
                    source.secrets.push(s);
                }
            }
        };
        let mut count = 0;
        let held = Held::of(file)?;
        if is_toml(file, &held)? {
            let text = match &held {
                Held::Regular => crate::fsio::read_text_capped(file, crate::fsio::TARGETS_CAP)?,
                Held::Bytes(b) => String::from_utf8(b.to_vec())
                    .map_err(|_| Error::input(file.display().to_string(), "is not UTF-8 text"))?,
            };
            let tables = TomlTables::parse(&text, file, bad)?;
            drop(text);
            let mut names = HashSet::new();
            let mut duplicates = HashSet::new();
            // Each table is built here only to check it (and its name); it is built again when run.
            for (i, t) in tables.targets.iter().enumerate() {
                count += 1;
                let Ok(t) = t else { continue };
                let at = toml_at(&tables.origin, &tables.lines, i);
                let run = match toml_run(t.clone(), &at, &tables.base, defaults) {
                    Ok(run) => run,
                    Err(e) if bad == BadEntry::Abort => return Err(e),
                    Err(_) => continue,
                };
                if !names.insert(run.name.clone()) {
                    if bad == BadEntry::Abort {
                        return Err(Error::input(at, format!("target name {:?} is used twice", run.name)));
                    }
                    duplicates.insert(i);
                    continue;
                }
                note(&run, &at);
            }
            let TomlTables { targets, lines, origin, base } = tables;
            source.file = FilePart::Toml {
                tables: targets.into_iter(),
                duplicates,
                lines,
                origin,
                base,
                defaults: defaults.clone(),
                next: 0,
            };
        } else {
            let mut lines = Lines::open(file, &held)?;
            while let Some((at, line)) = lines.next_line()? {
                match plain_line(&line, &at, defaults) {
                    Ok(None) => {}
                    Ok(Some(run)) => {
                        note(&run, &at);
                        count += 1;
                    }
                    Err(e) if bad == BadEntry::Abort => return Err(e),
                    Err(_) => count += 1,
                }
            }
            if count == 0 {
                return Err(Error::input(file.display().to_string(), "no targets (only comments and blank lines)"));
            }
            source.file = FilePart::Plain { lines: Lines::open(file, &held)?, defaults: defaults.clone() };
        }
        source.len += count;
        Ok(source)
    }

    /// How many targets there are (all of them, as checked).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every distinct set of material the targets name, in the order first named.
    pub fn materials(&self) -> &[MaterialRefs] {
        &self.materials
    }

    /// Per entry of [`Self::materials`]: where the first target naming it is written (`FILE:LINE`),
    /// or None for a target of the command line.
    pub fn material_origins(&self) -> &[Option<String>] {
        &self.material_origins
    }

    /// The secret values any target sends (cut out of every target's output).
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }
}

impl TargetSource {
    /// The next target and where the targets file writes it (`FILE:LINE`; None for a target of the
    /// command line). The file was checked whole before; if it changed since, a line that no
    /// longer reads is a target that reports why.
    pub fn next_sourced(&mut self) -> Option<(TargetRun, Option<String>)> {
        if let Some(run) = self.given.next() {
            return Some((run, None));
        }
        let failed =
            |name: String, e: Error| crate::engine::with_error(TargetRun { name, ..Default::default() }, e.to_string());
        match &mut self.file {
            FilePart::None => None,
            FilePart::Plain { lines, defaults } => loop {
                match lines.next_line() {
                    Ok(None) => return None,
                    Err(e) => {
                        self.file = FilePart::None;
                        return Some((failed(String::from("targets file"), e), None));
                    }
                    Ok(Some((at, line))) => match plain_line(&line, &at, defaults) {
                        Ok(None) => continue,
                        Ok(Some(run)) => return Some((run, Some(at))),
                        Err(e) => return Some((failed(plain_label(&line), e), Some(at))),
                    },
                }
            },
            FilePart::Toml { tables, duplicates, lines, origin, base, defaults, next } => {
                let t = tables.next()?;
                let i = *next;
                let at = toml_at(origin, lines, i);
                *next += 1;
                let run = match t {
                    Err((label, e)) => failed(label, e),
                    Ok(t) => {
                        let label = toml_label(&t);
                        match toml_run(t, &at, base, defaults) {
                            Ok(run) if duplicates.contains(&i) => {
                                let e = Error::input(&at, format!("target name {:?} is used twice", run.name));
                                failed(label, e)
                            }
                            Ok(run) => run,
                            Err(e) => failed(label, e),
                        }
                    }
                };
                Some((run, Some(at)))
            }
        }
    }

    /// Every target with where it is written, as [`Self::next_sourced`] yields them.
    pub fn sourced(mut self) -> impl Iterator<Item = (TargetRun, Option<String>)> {
        std::iter::from_fn(move || self.next_sourced())
    }
}

impl Iterator for TargetSource {
    type Item = TargetRun;

    /// The next target (see [`TargetSource::next_sourced`]).
    fn next(&mut self) -> Option<TargetRun> {
        self.next_sourced().map(|(run, _)| run)
    }
}

/// A `.toml` file, or one whose first line that is not blank or a comment starts with `[`.
fn is_toml(file: &Path, held: &Held) -> Result<bool> {
    if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
        return Ok(true);
    }
    let mut lines = Lines::open(file, held)?;
    while let Some((_, line)) = lines.next_line()? {
        let l = line.trim();
        if !l.is_empty() && !l.starts_with('#') {
            return Ok(l.starts_with('['));
        }
    }
    Ok(false)
}

/// How a targets file is read. A regular file is read again as targets are taken (so only a line
/// at a time is in memory) and judged by its size first; anything else (a pipe, `<(command)`,
/// `/dev/stdin`) can be read only once, so it is read whole, at most the targets-file cap.
enum Held {
    Regular,
    Bytes(std::sync::Arc<[u8]>),
}

impl Held {
    fn of(path: &Path) -> Result<Held> {
        let cap = crate::fsio::TARGETS_CAP;
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::input(path.display().to_string(), "is a directory, not a targets file"));
        }
        if meta.is_file() {
            if meta.len() > cap.bytes {
                return Err(cap.too_large(path));
            }
            return Ok(Held::Regular);
        }
        Ok(Held::Bytes(crate::fsio::read_capped(path, cap)?.into()))
    }
}

/// The lines of a file, read one at a time, each at most [`MAX_LINE_BYTES`], with `FILE:LINE`.
struct Lines {
    reader: Box<dyn BufRead + Send>,
    origin: String,
    number: usize,
    buf: Vec<u8>,
}

impl Lines {
    fn open(path: &Path, held: &Held) -> Result<Self> {
        let origin = path.display().to_string();
        let reader: Box<dyn BufRead + Send> = match held {
            Held::Bytes(b) => Box::new(std::io::Cursor::new(b.clone())),
            Held::Regular => {
                let file = File::open(path).map_err(|e| Error::io(path, e))?;
                Box::new(BufReader::new(file))
            }
        };
        Ok(Lines { reader, origin, number: 0, buf: Vec::new() })
    }

    fn next_line(&mut self) -> Result<Option<(String, String)>> {
        self.buf.clear();
        self.number += 1;
        let at = format!("{}:{}", self.origin, self.number);
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::input(&at, format!("cannot be read ({e})")))?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(Error::input(
                at,
                format!("a line longer than {} KiB: not a targets file", MAX_LINE_BYTES >> 10),
            ));
        }
        let text = std::str::from_utf8(&self.buf).map_err(|_| Error::input(&at, "is not UTF-8 text"))?;
        Ok(Some((at, text.trim_end_matches(['\n', '\r']).to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeRole;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn a_plain_file_is_checked_whole_then_read_line_by_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = TargetDefaults { role: ProbeRole::Outbound, ..Default::default() };
        let given = vec![d.target("first.example").expect("target")];
        let file = write(dir.path(), "t.txt", "# fleet\na.example\n\nb.example:8443 # b\n");
        let source = TargetSource::with_file(given, &file, &d, BadEntry::Abort).expect("checks");
        assert_eq!(source.len(), 3);
        assert_eq!(source.materials().len(), 1, "one set of material for every line");
        // The file is read again as targets are taken: a line appended since is seen, the count
        // stays what was checked.
        std::fs::write(&file, "# fleet\na.example\n\nb.example:8443 # b\nc.example\n").expect("append");
        let names: Vec<String> = source.map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "first.example:443 outbound",
                "a.example:443 outbound",
                "b.example:8443 outbound",
                "c.example:443 outbound"
            ]
        );

        // A bad line anywhere is the error, before anything is yielded.
        let mut text = "ok.example\n".repeat(500);
        text.push_str("two words\n");
        let bad = write(dir.path(), "bad.txt", &text);
        let e = TargetSource::with_file(Vec::new(), &bad, &d, BadEntry::Abort).err().expect("bad line").to_string();
        assert!(e.starts_with(&format!("{}:501: ", bad.display())), "{e}");
        let long = write(dir.path(), "long.txt", &format!("a.example\n{}\n", "x".repeat(MAX_LINE_BYTES + 10)));
        let e = TargetSource::with_file(Vec::new(), &long, &d, BadEntry::Abort).err().expect("long line").to_string();
        assert!(e.starts_with(&format!("{}:2: a line longer than 16 KiB", long.display())), "{e}");
        let empty = write(dir.path(), "empty.txt", "# nothing\n");
        let e = TargetSource::with_file(Vec::new(), &empty, &d, BadEntry::Abort).err().expect("empty").to_string();
        assert_eq!(e, format!("{}: no targets (only comments and blank lines)", empty.display()));
    }

    #[test]
    fn a_toml_file_keeps_its_tables_and_builds_each_target_in_turn() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = TargetDefaults::default();
        let text =
            "[[target]]\nname = \"one\"\nhost = \"a.local\"\nheaders = [\"Authorization: Bearer s3cr3t-value\"]\n\n\
                    [[target]]\nhost = \"b.local\"\nport = 8443\ncert = \"c.pem\"\n";
        let file = write(dir.path(), "t.toml", text);
        let source = TargetSource::with_file(Vec::new(), &file, &d, BadEntry::Abort).expect("parses");
        assert_eq!(source.len(), 2);
        assert_eq!(source.materials().len(), 2, "the second target names its own identity");
        assert!(source.secrets().iter().any(|s| s.contains("s3cr3t-value")), "{:?}", source.secrets());
        let runs: Vec<TargetRun> = source.collect();
        assert_eq!(runs[0].name, "one");
        assert_eq!(runs[1].name, "b.local:8443 inbound");
        assert_eq!(runs[1].material.cert, Some(dir.path().join("c.pem").display().to_string()));

        let dup = write(
            dir.path(),
            "d.toml",
            "[[target]]\nname = \"x\"\nhost = \"a\"\n\n[[target]]\nname = \"x\"\nhost = \"b\"\n",
        );
        let e = TargetSource::with_file(Vec::new(), &dup, &d, BadEntry::Abort).err().expect("duplicate").to_string();
        assert_eq!(e, format!("{}:5: target name \"x\" is used twice", dup.display()));
    }
}
