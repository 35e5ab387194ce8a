//! Output paths never destroy what the user had: `-o` or `--save` onto one of the command's input
//! files, or both outputs onto one file, is refused before anything runs.
//!
//! Paths are compared as the files they name (symlinks and `..` resolved, hard links by inode),
//! because `-o ./a/../cert.pem` or a link to the input overwrites the input just the same. The
//! inputs include the material a `--targets` file names and the material a replayed session names.

use std::path::{Path, PathBuf};

use super::args::{Command, DiagnosisArgs, OutputArgs, PasswordArgs, ProbeArgs, SaveArgs};
use crate::error::{Error, Result};

/// What the command has read already, so the guard does not read it again: the targets of a
/// probe, tui or watch command line (its targets file checked and its materials listed), a
/// replay's session (`None`: it did not
/// load, so it names nothing here and the command reports why).
pub enum Known<'a> {
    Unread,
    Targets(&'a crate::targets::TargetSource),
    Session(Option<&'a crate::session::Session>),
}

/// Refuse a command whose outputs would overwrite one of its inputs or each other, taking the
/// material files its targets name from what the command has read (`Known::Unread`: read them).
pub fn check_with(command: &Command, known: Known<'_>) -> Result<()> {
    let (inputs, outputs) = files_of(command);
    if outputs.is_empty() {
        return Ok(());
    }
    let named = named_inputs(command, known);
    for (i, (flag, out)) in outputs.iter().enumerate() {
        let Some(key) = identity(out) else { continue };
        if let Some(input) = inputs.iter().find(|p| identity(p).as_ref() == Some(&key)) {
            return Err(Error::Usage(format!(
                "{flag} {} is one of the inputs ({}); refusing to overwrite it",
                out.display(),
                input.display()
            )));
        }
        if let Some((input, named_in)) = named.iter().find(|(p, _)| identity(p).as_ref() == Some(&key)) {
            return Err(Error::Usage(format!(
                "{flag} {} is one of the inputs ({}, named in {named_in}); refusing to overwrite it",
                out.display(),
                input.display()
            )));
        }
        if let Some((other, _)) = outputs[..i].iter().find(|(_, p)| identity(p).as_ref() == Some(&key)) {
            return Err(Error::Usage(format!(
                "{flag} {} is the same file as {other}; give them different files",
                out.display()
            )));
        }
    }
    Ok(())
}

/// What a path names: the file itself (device and inode) when it exists, else its absolute
/// spelling with the directory resolved. `None` for devices and FIFOs (`-o /dev/null` twice is
/// harmless) and for paths that cannot be resolved at all.
#[derive(PartialEq, Eq)]
enum Identity {
    File(u64, u64),
    Path(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => None,
        Ok(meta) => Some(file_identity(path, &meta)),
        Err(_) => {
            let name = path.file_name()?;
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            Some(Identity::Path(std::fs::canonicalize(dir).ok()?.join(name)))
        }
    }
}

#[cfg(unix)]
fn file_identity(_path: &Path, meta: &std::fs::Metadata) -> Identity {
    use std::os::unix::fs::MetadataExt as _;
    Identity::File(meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_identity(path: &Path, _meta: &std::fs::Metadata) -> Identity {
    Identity::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
}

type Outputs = Vec<(&'static str, PathBuf)>;

/// Every file a command reads, and every file it writes with the flag that names it.
fn files_of(command: &Command) -> (Vec<PathBuf>, Outputs) {
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    match command {
        Command::Inspect(a) => {
            inputs.extend(a.files.iter().chain(&a.ca).cloned());
            diagnosis(&a.diagnosis, &a.password, &mut inputs);
            written(&a.output, Some(&a.session), &mut outputs);
        }
        Command::Probe(a) => probe(a, &mut inputs, &mut outputs),
        Command::Tui(a) => probe(&a.probe, &mut inputs, &mut outputs),
        Command::Watch(a) => probe(&a.probe, &mut inputs, &mut outputs),
        Command::Listen(a) => {
            inputs.push(a.cert.clone());
            inputs.extend(a.key.iter().chain(&a.ca).chain(&a.password.pfx_password_file).cloned());
            written(&a.output, None, &mut outputs);
        }
        Command::Demo(a) => written(&a.output, Some(&a.session), &mut outputs),
        Command::Replay(a) => {
            inputs.push(a.file.clone());
            written(&a.output, Some(&a.session), &mut outputs);
        }
        Command::Diff(a) => {
            inputs.extend([a.before.clone(), a.after.clone()]);
            written(&a.output, None, &mut outputs);
        }
        Command::Open(a) => {
            inputs.push(a.file.clone());
            written(&a.output, None, &mut outputs);
        }
        Command::Exporter(_) | Command::Completions(_) | Command::Man(_) => {}
    }
    (inputs, outputs)
}

/// The material files a `--targets` file or a replayed session names, each with where it is named
/// (`targets.toml:6`). A file that does not parse names nothing here: the run reports it.
fn named_inputs(command: &Command, known: Known<'_>) -> Vec<(PathBuf, String)> {
    let named: Vec<(crate::session::MaterialRefs, Vec<String>, String)> = match (command, known) {
        (Command::Probe(_), Known::Targets(source)) => source_materials(source),
        (Command::Probe(a), _) => targets_file_materials(a),
        (Command::Tui(_) | Command::Watch(_), Known::Targets(source)) => source_materials(source),
        (Command::Tui(t), _) => targets_file_materials(&t.probe),
        (Command::Watch(w), _) => targets_file_materials(&w.probe),
        (Command::Replay(r), Known::Session(loaded)) => loaded.map(|s| session_materials(s, r)).unwrap_or_default(),
        (Command::Replay(r), _) => match crate::session::load(&r.file) {
            Ok(session) => session_materials(&session, r),
            Err(_) => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (material, files, at) in named {
        for file in material_files(&material).into_iter().chain(files.iter().map(PathBuf::from)) {
            out.push((file, at.clone()));
        }
    }
    out
}

type Named = Vec<(crate::session::MaterialRefs, Vec<String>, String)>;

/// The material (and inspected files) of every target of a replayed session.
fn session_materials(session: &crate::session::Session, r: &crate::cli::ReplayArgs) -> Named {
    let from = r.file.display().to_string();
    session.targets.iter().map(|t| (t.material.clone(), t.files.clone(), from.clone())).collect()
}

/// Each distinct set of material a `--targets` file names, with the entry that first names it.
/// Read through the same checked, line-at-a-time source the sweep uses, so a large targets file
/// costs no more memory here than there.
fn targets_file_materials(a: &ProbeArgs) -> Named {
    let Some(file) = &a.targets_file else { return Vec::new() };
    let Ok(source) =
        crate::targets::TargetSource::with_file(Vec::new(), file, &a.defaults(), crate::targets::BadEntry::Record)
    else {
        return Vec::new();
    };
    source_materials(&source)
}

/// The materials a source's targets file names (the command line's own are inputs already).
fn source_materials(source: &crate::targets::TargetSource) -> Named {
    source
        .materials()
        .iter()
        .zip(source.material_origins())
        .filter_map(|(m, at)| Some((m.clone(), Vec::new(), at.clone()?)))
        .collect()
}

/// Every file a target's material names.
fn material_files(m: &crate::session::MaterialRefs) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        m.cert.iter().chain(&m.key).chain(&m.pfx).chain(&m.policy).map(PathBuf::from).collect();
    files.extend(m.ca.iter().chain(&m.client_ca).chain(&m.azure).map(PathBuf::from));
    if let crate::session::PasswordRef::File { path } = &m.password {
        files.push(PathBuf::from(path));
    }
    files.extend(m.deployment_certs.iter().filter_map(|s| s.split_once('=')).map(|(_, f)| PathBuf::from(f)));
    files
}

fn probe(a: &ProbeArgs, inputs: &mut Vec<PathBuf>, outputs: &mut Outputs) {
    inputs.extend(a.targets_file.iter().chain(&a.cert).chain(&a.key).chain(&a.pfx).chain(&a.ca).cloned());
    diagnosis(&a.diagnosis, &a.password, inputs);
    written(&a.output, Some(&a.session), outputs);
}

fn diagnosis(d: &DiagnosisArgs, p: &PasswordArgs, inputs: &mut Vec<PathBuf>) {
    inputs.extend(d.policy.iter().chain(&d.client_ca).chain(&d.azure).chain(&p.pfx_password_file).cloned());
    // ID=FILE: the file is everything after the first '='.
    inputs.extend(d.deployment_cert.iter().filter_map(|s| s.split_once('=')).map(|(_, f)| PathBuf::from(f)));
}

fn written(o: &OutputArgs, s: Option<&SaveArgs>, outputs: &mut Outputs) {
    outputs.extend(o.output.iter().map(|p| ("-o", p.clone())));
    outputs.extend(s.and_then(|s| s.save.as_ref()).map(|p| ("--save", p.clone())));
}
