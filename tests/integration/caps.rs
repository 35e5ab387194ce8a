//! Every file the tool reads is read up to a cap (issue 15): a file over it is one clear line that
//! names the file and the cap, at once, without reading it. (Policy files, Azure exports and
//! certificate material have their own tests in policy.rs, azure.rs and material.rs.)

use std::time::{Duration, Instant};

use crate::util::{bin, run, stderr, Dir};

/// A sparse file one byte over `cap`: costs no disk, and reading it whole would cost `cap` bytes.
fn over(dir: &Dir, name: &str, cap: mtls_doctor::fsio::Cap) -> std::path::PathBuf {
    let p = dir.path(name);
    std::fs::File::create(&p).expect("create").set_len(cap.bytes + 1).expect("set_len");
    p
}

#[test]
fn targets_session_and_theme_files_over_their_cap_are_refused_by_name() {
    let dir = Dir::new();
    let targets = over(&dir, "targets.txt", mtls_doctor::fsio::TARGETS_CAP);
    let session = over(&dir, "session.json", mtls_doctor::fsio::SESSION_CAP);
    let theme = over(&dir, "theme.toml", mtls_doctor::fsio::THEME_CAP);
    let cases: Vec<(Vec<std::ffi::OsString>, &std::path::Path, &str)> = vec![
        (
            vec!["probe".into(), "--targets".into(), targets.clone().into()],
            &targets,
            "4 MiB this tool reads for a targets file",
        ),
        (
            vec!["open".into(), session.clone().into(), "--report".into(), "json".into()],
            &session,
            "256 MiB this tool reads for a session file",
        ),
        (
            vec!["demo".into(), "--headless".into(), "--theme".into(), theme.clone().into()],
            &theme,
            "1 MiB this tool reads for a theme file",
        ),
    ];
    for (args, file, cap) in cases {
        let start = Instant::now();
        let o = run(bin().args(&args));
        assert!(start.elapsed() < Duration::from_secs(10), "{args:?} took {:?}", start.elapsed());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{}: is larger than the {cap}", file.display())), "{err}");
    }
}
