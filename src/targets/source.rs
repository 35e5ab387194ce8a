//! Targets for a sweep, read as it runs. A plain targets file is checked line by line first (so a
//! bad line is still an input error before anything runs) and then read again lazily, one line
//! per target started; a TOML file is parsed whole and kept as its tables (only what each sets),
//! each table becoming a target when its turn comes. Either way what stays in memory per target
//! is at most its table, not its run.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};

use super::{plain_line, toml_at, toml_run, TargetDefaults, TomlTables, TomlTarget};
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
    secrets: Vec<String>,
}

enum FilePart {
    None,
    Plain {
        lines: Lines,
        defaults: TargetDefaults,
    },
    Toml {
        tables: std::vec::IntoIter<TomlTarget>,
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
        let materials = runs.iter().filter(|r| seen.insert(&r.material)).map(|r| r.material.clone()).collect();
        let secrets = session::secrets_of(&runs);
        TargetSource { len: runs.len(), given: runs.into_iter(), file: FilePart::None, materials, secrets }
    }

    /// `given` followed by the targets of `file`, every one of which is checked now: a bad line or
    /// table is the error (naming the file and line), before anything runs.
    pub fn with_file(given: Vec<TargetRun>, file: &Path, defaults: &TargetDefaults) -> Result<Self> {
        let mut source = TargetSource::from_runs(given);
        let mut materials: HashSet<MaterialRefs> = source.materials.iter().cloned().collect();
        let mut secrets: HashSet<String> = source.secrets.iter().cloned().collect();
        let mut note = |run: &TargetRun| {
            if !materials.contains(&run.material) {
                materials.insert(run.material.clone());
                source.materials.push(run.material.clone());
            }
            for s in session::secrets_of(std::slice::from_ref(run)) {
                if secrets.insert(s.clone()) {
                    source.secrets.push(s);
                }
            }
        };
        let mut count = 0;
        if is_toml(file)? {
            let text = crate::fsio::read_text_capped(file, crate::fsio::TARGETS_CAP)?;
            let tables = TomlTables::parse(&text, file)?;
            drop(text);
            let mut names = HashSet::new();
            // Each table is built here only to check it (and its name); it is built again when run.
            for (i, t) in tables.targets.iter().enumerate() {
                let at = toml_at(&tables.origin, &tables.lines, i);
                let run = toml_run(t.clone(), &at, &tables.base, defaults)?;
                if !names.insert(run.name.clone()) {
                    return Err(Error::input(at, format!("target name {:?} is used twice", run.name)));
                }
                note(&run);
                count += 1;
            }
            let TomlTables { targets, lines, origin, base } = tables;
            source.file = FilePart::Toml {
                tables: targets.into_iter(),
                lines,
                origin,
                base,
                defaults: defaults.clone(),
                next: 0,
            };
        } else {
            let mut lines = Lines::open(file)?;
            while let Some((at, line)) = lines.next_line()? {
                if let Some(run) = plain_line(&line, &at, defaults)? {
                    note(&run);
                    count += 1;
                }
            }
            if count == 0 {
                return Err(Error::input(file.display().to_string(), "no targets (only comments and blank lines)"));
            }
            source.file = FilePart::Plain { lines: Lines::open(file)?, defaults: defaults.clone() };
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

    /// The secret values any target sends (cut out of every target's output).
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }
}

impl Iterator for TargetSource {
    type Item = TargetRun;

    /// The next target. The file was checked whole before; if it changed since, a line that no
    /// longer reads is a target that reports why.
    fn next(&mut self) -> Option<TargetRun> {
        if let Some(run) = self.given.next() {
            return Some(run);
        }
        let failed = |at: String, e: Error| {
            crate::engine::with_error(TargetRun { name: at, ..Default::default() }, e.to_string())
        };
        match &mut self.file {
            FilePart::None => None,
            FilePart::Plain { lines, defaults } => loop {
                match lines.next_line() {
                    Ok(None) => return None,
                    Err(e) => {
                        self.file = FilePart::None;
                        return Some(failed(String::from("targets file"), e));
                    }
                    Ok(Some((at, line))) => match plain_line(&line, &at, defaults) {
                        Ok(None) => continue,
                        Ok(Some(run)) => return Some(run),
                        Err(e) => return Some(failed(at, e)),
                    },
                }
            },
            FilePart::Toml { tables, lines, origin, base, defaults, next } => {
                let t = tables.next()?;
                let at = toml_at(origin, lines, *next);
                *next += 1;
                Some(toml_run(t, &at, base, defaults).unwrap_or_else(|e| failed(at, e)))
            }
        }
    }
}

/// A `.toml` file, or one whose first line that is not blank or a comment starts with `[`.
fn is_toml(file: &Path) -> Result<bool> {
    if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
        return Ok(true);
    }
    let mut lines = Lines::open(file)?;
    while let Some((_, line)) = lines.next_line()? {
        let l = line.trim();
        if !l.is_empty() && !l.starts_with('#') {
            return Ok(l.starts_with('['));
        }
    }
    Ok(false)
}

/// The lines of a file, read one at a time, each at most [`MAX_LINE_BYTES`], with `FILE:LINE`.
struct Lines {
    reader: BufReader<File>,
    origin: String,
    number: usize,
    buf: Vec<u8>,
}

impl Lines {
    fn open(path: &Path) -> Result<Self> {
        let origin = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::input(origin, "is a directory, not a targets file"));
        }
        Ok(Lines { reader: BufReader::new(file), origin, number: 0, buf: Vec::new() })
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
        let source = TargetSource::with_file(given, &file, &d).expect("checks");
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
        let e = TargetSource::with_file(Vec::new(), &bad, &d).err().expect("bad line").to_string();
        assert!(e.starts_with(&format!("{}:501: ", bad.display())), "{e}");
        let long = write(dir.path(), "long.txt", &format!("a.example\n{}\n", "x".repeat(MAX_LINE_BYTES + 10)));
        let e = TargetSource::with_file(Vec::new(), &long, &d).err().expect("long line").to_string();
        assert!(e.starts_with(&format!("{}:2: a line longer than 16 KiB", long.display())), "{e}");
        let empty = write(dir.path(), "empty.txt", "# nothing\n");
        let e = TargetSource::with_file(Vec::new(), &empty, &d).err().expect("empty").to_string();
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
        let source = TargetSource::with_file(Vec::new(), &file, &d).expect("parses");
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
        let e = TargetSource::with_file(Vec::new(), &dup, &d).err().expect("duplicate").to_string();
        assert_eq!(e, format!("{}:5: target name \"x\" is used twice", dup.display()));
    }
}
