//! The state machine's unit tests: plain calls, no terminal, no files.

use std::path::Path;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::error::Error;
use crate::probe::ProbeOptions;
use crate::session::MaterialRefs;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn target(host: &str) -> TargetRun {
    crate::engine::probe_target(ProbeOptions::new(host, 443), MaterialRefs::default())
}

fn app(n: usize) -> App {
    App::new(Session::new((0..n).map(|i| target(&format!("h{i}.example"))).collect()))
}

fn run_ids(effects: &[Effect]) -> Vec<(u64, u64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Run { id, generation, .. } => Some((*id, *generation)),
            _ => None,
        })
        .collect()
}

#[test]
fn run_then_result_updates_the_target_and_a_stale_result_is_dropped() {
    let mut a = app(2);
    let first = run_ids(&a.on_key(ch('r')));
    assert_eq!(first, vec![(1, 1)]);
    assert_eq!(a.target_status(0), TargetStatus::Running);
    // Running again replaces the run in flight: the older result must not land.
    let second = run_ids(&a.on_key(ch('r')));
    assert_eq!(second, vec![(1, 2)]);
    let mut old = target("h0.example");
    old.error = Some("old".into());
    a.on_finished(1, 1, old);
    assert!(a.is_running(0));
    let mut new = target("h0.example");
    new.error = Some("cannot read x.pem".into());
    a.on_finished(1, 2, new);
    assert!(!a.busy());
    assert_eq!(a.target_status(0), TargetStatus::Error);
    assert_eq!(a.session.targets[0].error.as_deref(), Some("cannot read x.pem"));
    assert!(!a.dirty, "a result is not a change the user made");
}

#[test]
fn cancel_keeps_old_results_and_ignores_the_late_answer() {
    let mut a = app(1);
    a.on_key(ch('r'));
    let effects = a.on_key(ch('c'));
    assert!(matches!(effects.as_slice(), [Effect::Cancel { id: 1 }]));
    a.on_finished(1, 1, target("late"));
    assert_eq!(a.session.targets[0].name, "h0.example:443 inbound");
    assert_eq!(a.target_status(0), TargetStatus::NotRun);
}

#[test]
fn run_all_prompts_for_a_pfx_password_then_runs_with_it() {
    let mut a = app(2);
    a.session.targets[1].material.pfx = Some("client.pfx".into());
    let effects = a.on_key(ch('R'));
    assert_eq!(run_ids(&effects), vec![(1, 1)]);
    assert!(matches!(&a.overlay, Overlay::Password { id: 2, file, .. } if file == "client.pfx"));
    for c in "pw".chars() {
        a.on_key(ch(c));
    }
    assert_eq!(format!("{:?}", a.overlay).matches("pw").count(), 0, "password must not appear in Debug");
    let effects = a.on_key(key(KeyCode::Enter));
    match effects.as_slice() {
        [Effect::Run { id: 2, password: Some(p), .. }] => assert_eq!(p.expose(), "pw"),
        other => panic!("{other:?}"),
    }
    // Cached for this run of the program: no second prompt.
    a.selected = 1;
    assert_eq!(run_ids(&a.on_key(ch('r'))), vec![(2, 3)]);
    assert!(matches!(a.overlay, Overlay::None));
}

#[test]
fn tab_cycles_panes_and_keys_move_within_them() {
    let mut a = app(3);
    a.on_key(ch('j'));
    a.on_key(ch('j'));
    a.on_key(ch('j'));
    assert_eq!(a.selected, 2);
    a.on_key(key(KeyCode::Tab));
    assert_eq!(a.focus, Pane::Timeline);
    a.on_key(ch('j'));
    assert_eq!((a.selected, a.timeline_scroll), (2, 1));
    a.on_key(key(KeyCode::BackTab));
    a.on_key(key(KeyCode::BackTab));
    assert_eq!(a.focus, Pane::Findings);
    a.on_key(ch('1'));
    assert_eq!(a.focus, Pane::Targets);
    a.on_key(ch('g'));
    assert_eq!(a.selected, 0);
}

#[test]
fn add_edit_duplicate_delete() {
    let mut a = app(1);
    a.on_key(ch('a'));
    for c in "new.example".chars() {
        a.on_key(ch(c));
    }
    a.on_key(key(KeyCode::Enter));
    assert!(matches!(a.overlay, Overlay::None), "{:?}", a.status);
    assert_eq!(a.session.targets.len(), 2);
    assert_eq!((a.selected, a.session.targets[1].name.as_str()), (1, "new.example:443 inbound"));

    a.on_key(ch('d'));
    assert_eq!(a.session.targets.len(), 3);
    assert_eq!(a.session.targets[2].name, "new.example:443 inbound (copy)");

    a.on_key(ch('e'));
    let Overlay::Form(form) = &mut a.overlay else { panic!("form") };
    form.set(super::super::form::FieldKey::Port, "x");
    a.on_key(key(KeyCode::Enter));
    assert!(
        matches!(&a.overlay, Overlay::Form(f) if f.error.as_deref() == Some("Port: \"x\" is not a port (1-65535)"))
    );
    // Moving around keeps the error; changing the field it is about clears it.
    a.on_key(key(KeyCode::End));
    assert!(matches!(&a.overlay, Overlay::Form(f) if f.error.is_some()));
    a.on_key(key(KeyCode::Backspace));
    assert!(matches!(&a.overlay, Overlay::Form(f) if f.error.is_none()), "the error goes with the edit");
    a.on_key(key(KeyCode::Esc));

    a.on_key(ch('x'));
    a.on_key(ch('n'));
    assert_eq!(a.session.targets.len(), 3);
    a.on_key(ch('x'));
    a.on_key(ch('y'));
    assert_eq!(a.session.targets.len(), 2);
    assert_eq!(a.selected, 1);
}

#[test]
fn quit_asks_twice_with_unsaved_changes_and_ctrl_c_always_quits() {
    let mut a = app(1);
    a.on_key(ch('q'));
    assert_eq!(a.exit, Some(0));

    let mut a = app(1);
    a.dirty = true;
    a.on_key(ch('q'));
    assert_eq!(a.exit, None);
    assert_eq!(a.status.as_ref().map(|s| s.kind), Some(StatusKind::Error));
    a.on_key(ch('q'));
    assert_eq!(a.exit, Some(0));

    let mut a = app(1);
    a.overlay = Overlay::Help { scroll: 0 };
    a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(a.exit, Some(130));
}

#[test]
fn read_only_refuses_changes_and_runs() {
    let mut a = app(1);
    a.read_only = true;
    for c in ['r', 'R', 'e', 'a', 'd', 'x'] {
        assert!(a.on_key(ch(c)).is_empty());
        assert!(matches!(a.overlay, Overlay::None), "{c}");
    }
    assert_eq!(a.session.targets.len(), 1);
}

#[test]
fn save_asks_the_loop_to_write_and_only_a_success_clears_dirty() {
    let path = Path::new("dir/s.json");
    let mut a = app(2);
    a.dirty = true;
    a.on_key(ch('s'));
    let Overlay::Path { purpose: PathPurpose::Save, .. } = a.overlay else { panic!("save prompt") };
    a.overlay = Overlay::Path { purpose: PathPurpose::Save, input: path.display().to_string() };
    let effects = a.on_key(key(KeyCode::Enter));
    match effects.as_slice() {
        [Effect::Save { path: p, session }] => {
            assert_eq!(p, path);
            assert_eq!(session.targets, a.session.targets);
        }
        other => panic!("{other:?}"),
    }
    assert!(a.dirty, "nothing is written until the loop says so");

    a.on_saved(path, Err(Error::input("dir/s.json", "cannot write")));
    assert!(a.dirty);
    assert_eq!(a.session_path, None);
    let s = a.status.clone().expect("status");
    assert_eq!(s.kind, StatusKind::Error);
    assert!(s.text.contains("s.json"), "{}", s.text);

    a.on_saved(path, Ok(()));
    assert!(!a.dirty, "{:?}", a.status);
    assert_eq!(a.session_path.as_deref(), Some(path));
    assert_eq!(a.status.as_ref().map(|s| s.kind), Some(StatusKind::Ok));
    // With a file name known, `s` saves there without asking.
    assert!(matches!(a.on_key(ch('s')).as_slice(), [Effect::Save { path: p, .. }] if p == path));
}

#[test]
fn open_asks_the_loop_to_read_and_replaces_the_session_only_on_success() {
    let path = Path::new("s.json");
    let mut a = app(2);
    a.on_key(ch('r'));
    a.on_key(ch('o'));
    a.on_paste("s.json");
    let effects = a.on_key(key(KeyCode::Enter));
    assert!(matches!(effects.as_slice(), [Effect::Open { path: p }] if p == path), "{effects:?}");
    assert_eq!(a.session.targets.len(), 2, "nothing is read until the loop says so");

    a.on_opened(path, Err(Error::input("s.json", "not a session")));
    let s = a.status.clone().expect("status");
    assert_eq!(s.kind, StatusKind::Error);
    assert!(s.text.contains("s.json"), "{}", s.text);
    assert_eq!(a.session.targets.len(), 2, "a failed open keeps the session");
    assert!(a.busy(), "and its runs");

    let opened = Session::new(vec![target("other.example")]);
    let effects = a.on_opened(path, Ok(opened.clone()));
    assert!(matches!(effects.as_slice(), [Effect::Cancel { id: 1 }]), "runs in flight are cancelled: {effects:?}");
    assert_eq!(a.session.targets, opened.targets);
    assert_eq!(a.session_path.as_deref(), Some(path));
    assert!(!a.dirty && !a.busy());
}

fn copied_payload(effects: &[Effect]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    effects.iter().find_map(|e| match e {
        Effect::Copy { text } => {
            let seq = crate::tui::clipboard::osc52(text).expect("small");
            let b64 = seq.strip_prefix("\x1b]52;c;").and_then(|s| s.strip_suffix('\x07')).expect("OSC 52 frame");
            Some(base64::engine::general_purpose::STANDARD.decode(b64).expect("base64"))
        }
        _ => None,
    })
}

#[test]
fn a_subject_with_escapes_or_bidi_controls_is_not_copied_and_the_status_says_why() {
    for hostile in ["CN=ok\x1b]0;pwned\x07", "CN=a\rrm -rf ~\r", "CN=gpj.\u{202E}exe", "CN=x\u{9B}31m", "CN=del\x7f"] {
        let mut a = app(1);
        let effects = a.copy("subject", hostile.to_string());
        assert_eq!(copied_payload(&effects), None, "{hostile:?} reached the clipboard");
        let status = a.status.as_ref().expect("status");
        assert_eq!(status.kind, StatusKind::Error);
        assert!(status.text.contains("Not copied") && status.text.contains("U+"), "{}", status.text);
        assert!(!status.text.chars().any(|c| c.is_control() || crate::policy::is_invisible(c)), "{:?}", status.text);
    }
}

#[test]
fn a_plain_value_is_copied_byte_for_byte_and_a_pem_keeps_its_newlines_only() {
    let mut a = app(1);
    let effects = a.copy("subject", "CN=api.contoso.com, O=Contoso".to_string());
    assert_eq!(copied_payload(&effects).expect("copied"), b"CN=api.contoso.com, O=Contoso");
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let effects = a.copy("certificate PEM", pem.to_string());
    assert_eq!(copied_payload(&effects).expect("copied"), pem.as_bytes());
    // A newline in a one-line value would run what follows it when pasted into a shell.
    let effects = a.copy("subject", "CN=a\nwhoami".to_string());
    assert_eq!(copied_payload(&effects), None);
}
