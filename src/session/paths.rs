//! Input paths in session files: saved absolute, so `replay` works from any directory; a relative
//! path read from a file (older sessions, hand-written ones) is taken relative to the session file.

use std::path::{Path, PathBuf};

use super::{PasswordRef, Session, TargetRun};

/// Every input path of every target (material, inspected files, the password file), mapped by `f`.
fn map_paths(session: &mut Session, f: &dyn Fn(&str) -> String) {
    for t in &mut session.targets {
        map_target_paths(t, f);
    }
}

fn map_target_paths(t: &mut TargetRun, f: &dyn Fn(&str) -> String) {
    let m = &mut t.material;
    for p in [&mut m.cert, &mut m.key, &mut m.pfx, &mut m.policy].into_iter().flatten() {
        *p = f(p);
    }
    for p in m.ca.iter_mut().chain(m.client_ca.iter_mut()).chain(m.azure.iter_mut()).chain(t.files.iter_mut()) {
        *p = f(p);
    }
    if let PasswordRef::File { path } = &mut m.password {
        *path = f(path);
    }
}

fn absolute(p: &str) -> String {
    if p.is_empty() || Path::new(p).is_absolute() || !Path::new(p).exists() {
        return p.to_string();
    }
    std::path::absolute(p).map(|a| a.display().to_string()).unwrap_or_else(|_| p.to_string())
}

/// Relative input paths of files that exist made absolute against the current directory (what they
/// meant when given); anything else (a file already gone, a demo's `lab:` name) is kept as given.
pub fn absolute_inputs(session: &Session) -> Session {
    let mut s = session.clone();
    map_paths(&mut s, &absolute);
    s
}

/// [`absolute_inputs`] for one target (a sweep saves target by target).
pub fn absolute_target_inputs(t: &mut TargetRun) {
    map_target_paths(t, &absolute);
}

/// Relative input paths in a loaded session resolved against the session file's directory.
pub fn resolve_inputs(session: &mut Session, session_file: &Path) {
    let base: PathBuf = match session_file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    map_paths(session, &|p| {
        if p.is_empty() || Path::new(p).is_absolute() {
            p.to_string()
        } else {
            base.join(p).display().to_string()
        }
    });
}
