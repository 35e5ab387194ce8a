//! The TUI on real data: the demo lab's session (real handshakes, real diagnosis) rendered into
//! `TestBackend` buffers and snapshot-tested, key handling on that session, the event loop running
//! real probes against the lab in the background, screenshots, and the real program under tmux.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mtls_doctor::pki::{Issued, Spec};
use mtls_doctor::session::{MaterialRefs, PasswordRef, Session, TargetKind, TargetRun};
use mtls_doctor::tui::app::{Effect, Overlay, Pane, Side, StatusKind};
use mtls_doctor::tui::terminal::{run_loop, Event};
use mtls_doctor::tui::theme::{self, Role};
use mtls_doctor::tui::view::{buffer_text, render_text, render_to_buffer};
use mtls_doctor::tui::{engine_runner, save_session, svg, App, RunFuture, Runner, Theme};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::style::Color;
use ratatui::Terminal;

/// The demo session, run once for the whole module: every target really probed against the lab.
pub(crate) fn demo_session() -> &'static Session {
    static SESSION: OnceLock<Session> = OnceLock::new();
    SESSION.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("mtls-doctor-demo").tempdir().expect("tempdir");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let (lab, session) =
                tokio::time::timeout(Duration::from_secs(120), mtls_doctor::demo::start_demo(dir.path()))
                    .await
                    .expect("the demo finishes in time")
                    .expect("demo");
            lab.shutdown().await;
            session
        })
    })
}

pub(crate) fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

pub(crate) fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

/// An app on the demo session with the target called `name` selected.
pub(crate) fn app_on(name: &str) -> App {
    let mut app = App::new(demo_session().clone());
    let i = app.session.targets.iter().position(|t| t.name == name).unwrap_or_else(|| panic!("no target {name}"));
    for _ in 0..i {
        app.on_key(ch('j'));
    }
    assert_eq!(app.target().map(|t| t.name.as_str()), Some(name));
    app
}

pub(crate) fn dark() -> Theme {
    Theme::load_with_colour(Some("dark")).expect("dark theme")
}

/// Snapshot a rendered screen with the run-dependent values masked.
fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    for (re, with) in [
        // The PEM block in the certificate detail, whole: an ECDSA signature's length varies by a
        // byte or two, so the last line's length (and rarely the line count) varies too.
        (r"(?s)-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", "[pem]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"\b[0-9A-F]{64}\b", "[sha256]"),
        (r"\b[0-9a-fA-F]{40}\b", "[sha1]"),
        (r"\b[0-9A-F]{5,}\b", "[hex]"),
        (r"\b[0-9A-F]{12}…", "[hex]…"),
        (r"\d+\.\d ms", "[ms]"),
        (r"/tmp/mtls-doctor-demo\w+/", "[dir]/"),
        (r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\dZ)?", "[date]"),
        (r"\d+ day\(s\)", "[n] day(s)"),
        // A masked value's length varied: so does the padding or border after it.
        (r"(\[(?:ms|hex|sha1|sha256|port|date|base64)\]) +", "$1 "),
        (r"(\[(?:ms|hex|sha1|sha256|port|date|base64)\] )─+", "$1─"),
        // … also when the Handshake title goes on past the masked time.
        (r"(\[ms\] · b body )─+", "$1─"),
        // … and the padding up to a pane's right border further along the line.
        (r" {2,}([│┃║])", "  $1"),
    ] {
        settings.add_filter(re, with);
    }
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

// ----- views on real data --------------------------------------------------------------------

#[test]
fn overview_wide_shows_every_pane_for_a_healthy_target() {
    let app = app_on("healthy inbound");
    let text = render_text(&app, &dark(), 160, 45);
    for needle in ["Targets (10)", "Handshake · healthy inbound", "Verdicts", "Certificates", "Findings", "? help"] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    // Badges read without colour.
    assert!(text.contains("✔ ok   in   healthy inbound"), "{text}");
    assert!(text.contains("✖ err  out  backend distrusts"), "{text}");
    assert!(text.contains("with cert") && text.contains("without cert"), "{text}");
    snapshot("tui_overview_160x45", &text);
}

#[test]
fn overview_small_terminal_shows_list_tabs_and_one_pane() {
    let mut app = app_on("healthy inbound");
    let text = render_text(&app, &dark(), 80, 24);
    assert!(text.contains("2 Handshake") && text.contains("5 Findings"), "{text}");
    snapshot("tui_overview_80x24", &text);
    app.on_key(ch('5'));
    let text = render_text(&app, &dark(), 80, 24);
    assert!(text.contains("No problems found"), "{text}");
}

#[test]
fn diagnosis_403_with_policy_verdict_and_findings() {
    let mut app = app_on("rogue client certificate");
    app.on_key(ch('5'));
    let text = render_text(&app, &dark(), 160, 45);
    assert!(text.contains("✖ 403"), "policy verdict:\n{text}");
    // Severity follows the outcome: the gateway answered 403 to a certificate whose issuer is not
    // among its acceptable CA names, so that error is listed first.
    assert!(text.contains("client-cert-ca-not-acceptable"), "{text}");
    assert!(text.contains("✖ FAIL HTTP"), "the failing step is marked:\n{text}");
    assert!(text.contains("◀ fails here"), "{text}");
    snapshot("tui_diagnosis_403", &text);
}

#[test]
fn diagnosis_502_outbound_marks_the_failing_handshake_step() {
    let mut app = app_on("backend distrusts the gateway's CA");
    app.on_key(ch('5'));
    let text = render_text(&app, &dark(), 160, 45);
    assert!(text.contains("backend-distrusts-client-ca"), "{text}");
    assert!(text.contains("unknown_ca"), "{text}");
    assert!(text.contains("◀ fails here"), "{text}");
    snapshot("tui_diagnosis_502", &text);

    let mut app = app_on("gateway answers 502");
    app.on_key(ch('5'));
    let text = render_text(&app, &dark(), 160, 45);
    assert!(text.contains("gateway-502"), "{text}");
    assert!(text.contains("HTTP/1.1 502"), "{text}");
}

#[test]
fn certificate_detail_shows_every_field_and_copies_with_confirmation() {
    let mut app = app_on("healthy inbound");
    app.on_key(ch('4'));
    app.on_key(ch('l'));
    assert_eq!(app.chain_side, Side::Client);
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.overlay, Overlay::Detail { side: Side::Client, index: 0, .. }));
    let cert = app.cert(Side::Client, 0).expect("client leaf").clone();
    let text = render_text(&app, &dark(), 160, 45);
    for needle in ["Subject", "RFC 4514", "Thumbprint", "SHA-256", "Serial", "Not after", "SANs", "Key usage", "PEM"] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    assert!(text.contains(&cert.thumbprint_sha1));
    snapshot("tui_certificate_detail", &text);

    let effects = app.on_key(ch('t'));
    match effects.as_slice() {
        [Effect::Copy { text }] => assert_eq!(text, &cert.thumbprint_sha1),
        other => panic!("{other:?}"),
    }
    let screen = render_text(&app, &dark(), 160, 45);
    assert!(screen.contains("✔ Copied thumbprint to the clipboard (OSC 52)"), "{screen}");
    let effects = app.on_key(ch('s'));
    assert!(matches!(effects.as_slice(), [Effect::Copy { text }] if text == &cert.subject));
    app.on_key(key(KeyCode::Esc));
    assert!(matches!(app.overlay, Overlay::None));
}

#[test]
fn findings_pane_copies_the_policy_snippet_of_the_selected_finding() {
    let mut app = app_on("policy literal pasted from Windows (offline)");
    app.on_key(ch('5'));
    let findings = app.target().expect("target").findings.clone();
    let with_snippet = findings.iter().position(|f| f.snippet.is_some()).expect("a finding with a snippet");
    for _ in 0..with_snippet {
        app.on_key(ch('j'));
    }
    let effects = app.on_key(ch('y'));
    match effects.as_slice() {
        [Effect::Copy { text }] => assert_eq!(Some(text), findings[with_snippet].snippet.as_ref()),
        other => panic!("{other:?}"),
    }
    assert_eq!(app.status.as_ref().map(|s| s.kind), Some(StatusKind::Ok));
    // The invisible character in the pasted literal is shown, never passed through.
    let text = render_text(&app, &dark(), 160, 45);
    assert!(text.contains("<U+200E>"), "{text}");
    assert!(!text.contains('\u{200E}'));
}

#[test]
fn help_and_edit_form_render_and_fit_small_terminals() {
    let mut app = app_on("healthy inbound");
    app.on_key(ch('?'));
    let text = render_text(&app, &dark(), 80, 24);
    assert!(text.contains("Help") && text.contains("run every target"), "{text}");
    snapshot("tui_help_80x24", &text);
    app.on_key(key(KeyCode::Esc));

    app.on_key(ch('e'));
    let text = render_text(&app, &dark(), 80, 24);
    for needle in ["Edit healthy inbound", "Host", "api.lab.test", "Connect to", "PFX password", "Policy"] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    // The subscription key header is a secret: the form shows it redacted.
    assert!(text.contains("Ocp-Apim-Subscription-Key: [redacted]"), "{text}");
    assert!(!text.contains("demo-subscription-key"), "{text}");
    snapshot("tui_edit_form_80x24", &text);
}

#[test]
fn every_screen_renders_at_any_size_without_panicking() {
    let base = app_on("negotiation off");
    let sizes = [(1, 1), (10, 3), (20, 5), (40, 12), (80, 24), (119, 31), (120, 32), (160, 45), (250, 70)];
    // Each screen as the keys that open it.
    let setups: Vec<Vec<KeyEvent>> = vec![
        vec![],
        vec![ch('?')],
        vec![ch('4'), key(KeyCode::Enter)],
        vec![ch('e')],
        vec![ch('x')],
        vec![ch('o')],
        vec![ch('5'), ch('j')],
    ];
    for setup in &setups {
        let mut app = App::new(base.session.clone());
        app.selected = base.selected;
        for k in setup {
            app.on_key(*k);
        }
        for (w, h) in sizes {
            let _ = render_to_buffer(&app, &dark(), w, h);
        }
    }
    let empty = App::new(Session::default());
    assert!(render_text(&empty, &dark(), 80, 24).contains("No targets yet."));
}

/// A certificate whose subject carries terminal escape sequences is shown escaped.
#[test]
fn escape_sequences_in_certificate_fields_never_reach_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Issued::self_signed(&Spec::ca("Evil\u{1b}]52;c;SGk=\u{7} CA")).expect("ca");
    let leaf = ca.issue(&Spec::leaf("evil\u{1b}[2J\u{1b}[31mred").client_only()).expect("leaf");
    let file = dir.path().join("evil.pem");
    std::fs::write(&file, leaf.cert_pem()).expect("write");
    let run = TargetRun {
        name: "evil\u{1b}[1mname".into(),
        kind: TargetKind::Inspect,
        files: vec![file.display().to_string()],
        material: MaterialRefs { password: PasswordRef::None, ca: vec![], ..Default::default() },
        ..Default::default()
    };
    let loaded = mtls_doctor::engine::load(&run.material).expect("load");
    let run = mtls_doctor::engine::run_inspect_target(run, mtls_doctor::verify::Role::Client, None, &loaded)
        .expect("inspect");
    let mut app = App::new(Session::new(vec![run]));
    let mut screens = vec![render_text(&app, &dark(), 160, 45)];
    app.on_key(ch('4'));
    app.on_key(ch('l'));
    app.on_key(key(KeyCode::Enter));
    screens.push(render_text(&app, &dark(), 160, 45));
    for text in screens {
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "control character on screen:\n{text}");
        assert!(text.contains("\\u{001B}"), "{text}");
    }
}

// ----- themes --------------------------------------------------------------------------------

#[test]
fn themes_style_roles_and_no_color_strips_colour() {
    let app = app_on("rogue client certificate");
    for name in theme::names() {
        let theme = Theme::load_with_colour(Some(name)).expect("theme");
        let buf = render_to_buffer(&app, &theme, 160, 45);
        // The badge of an error target is drawn in the theme's error style.
        let text = buffer_text(&buf);
        let (row, line) = text.lines().enumerate().find(|(_, l)| l.contains("✖ err  in   rogue")).expect("row");
        let col = line.chars().position(|c| c == '✖').expect("badge") as u16;
        let cell = buf.cell((col, row as u16)).expect("cell");
        assert_eq!(Some(cell.fg), theme.style(Role::Error).fg, "{name}");
        assert_eq!(Some(buffer_text(&buf)), Some(text.clone()), "{name}: themes change style, not text");
    }
    let mono = dark().monochrome();
    let buf = render_to_buffer(&app, &mono, 160, 45);
    assert!(buf.content().iter().all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
}

#[test]
fn a_broken_theme_file_names_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, "name = \"mine\"\n[roles]\ntext = { fg = \"#c0c0c0\" }\nerror = { fg = \"crimson\" }\n")
        .expect("write");
    let e = Theme::load_with_colour(Some(path.to_str().expect("utf8"))).expect_err("bad colour").to_string();
    assert!(e.starts_with(&format!("{}: line 4: ", path.display())), "{e}");
    std::fs::write(&path, "[roles]\nerror = { fg = \"#ff0000\" }\n").expect("write");
    let t = Theme::load_with_colour(Some(path.to_str().expect("utf8"))).expect("partial theme");
    assert_eq!(t.style(Role::Error).fg, Some(Color::Rgb(255, 0, 0)));
}

// ----- the event loop with real probes -------------------------------------------------------

/// A runner around the real engine that reports when a run ends, and whether a run was dropped
/// before it finished (a cancelled task).
fn observed_runner(done: tokio::sync::mpsc::UnboundedSender<String>, dropped: Arc<AtomicBool>, hold: bool) -> Runner {
    let engine = engine_runner();
    Arc::new(move |run: TargetRun, pw| {
        let engine = engine.clone();
        let done = done.clone();
        let dropped = dropped.clone();
        Box::pin(async move {
            struct OnDrop(Arc<AtomicBool>, bool);
            impl Drop for OnDrop {
                fn drop(&mut self) {
                    if !self.1 {
                        self.0.store(true, Ordering::SeqCst);
                    }
                }
            }
            let mut guard = OnDrop(dropped, false);
            if hold {
                // Stands for a probe stuck on an unresponsive peer.
                std::future::pending::<()>().await;
            }
            let name = run.name.clone();
            let out = engine(run, pw).await;
            guard.1 = true;
            let _ = done.send(name);
            out
        }) as RunFuture
    })
}

#[test]
fn loop_runs_a_probe_in_the_background_and_cancel_aborts_it() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let lab = mtls_doctor::lab::Lab::start().await.expect("lab");
        let dir = tempfile::tempdir().expect("tempdir");
        let targets = mtls_doctor::demo::demo_targets(&lab, dir.path()).expect("targets");
        let session = Session::new(targets);
        let theme = dark();

        // 1. Run "negotiation off" for real; the screen keeps drawing while it runs.
        let mut app = App::new(session.clone());
        app.on_key(ch('j'));
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        let dropped = Arc::new(AtomicBool::new(false));
        let runner = observed_runner(done_tx, dropped.clone(), false);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let keys = tx.clone();
        let driver = tokio::spawn(async move {
            keys.send(Event::Input(TermEvent::Key(ch('r')))).expect("send");
            let name = tokio::time::timeout(Duration::from_secs(30), done_rx.recv()).await.expect("bounded");
            // Let the result event reach the loop, then quit: once, a result is not a user's change.
            tokio::time::sleep(Duration::from_millis(100)).await;
            keys.send(Event::Input(TermEvent::Key(ch('q')))).expect("send");
            name
        });
        let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("terminal");
        let mut copied = Vec::new();
        let mut clip = |t: &str| {
            copied.push(t.to_string());
            Ok(())
        };
        let code = tokio::time::timeout(
            Duration::from_secs(60),
            run_loop(&mut terminal, &mut app, &theme, runner, (tx, rx), vec![], &mut clip),
        )
        .await
        .expect("loop ends")
        .expect("loop ok");
        assert_eq!(code, 0);
        assert_eq!(driver.await.expect("driver"), Some("negotiation off".to_string()));
        let t = &app.session.targets[1];
        assert!(t.probe.is_some(), "the probe result landed");
        assert!(t.findings.iter().any(|f| f.id == "gateway-did-not-request-cert"), "{:?}", t.findings);
        assert!(!dropped.load(Ordering::SeqCst));
        let screen = buffer_text(terminal.backend().buffer());
        assert!(screen.contains("gateway-did-not-request-cert"), "{screen}");

        // 2. A run that never finishes is aborted by `c`, and the loop stays responsive.
        let mut app = App::new(session);
        let (done_tx, _done_rx) = tokio::sync::mpsc::unbounded_channel();
        let dropped = Arc::new(AtomicBool::new(false));
        let runner = observed_runner(done_tx, dropped.clone(), true);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let keys = tx.clone();
        let watch = dropped.clone();
        let driver = tokio::spawn(async move {
            keys.send(Event::Input(TermEvent::Key(ch('r')))).expect("send");
            tokio::time::sleep(Duration::from_millis(300)).await;
            let dropped_before_cancel = watch.load(Ordering::SeqCst);
            keys.send(Event::Input(TermEvent::Key(ch('c')))).expect("send");
            let deadline = Instant::now() + Duration::from_secs(10);
            while !watch.load(Ordering::SeqCst) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            keys.send(Event::Input(TermEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))))
                .expect("send");
            dropped_before_cancel
        });
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        let mut clip = |_: &str| Ok(());
        let code = tokio::time::timeout(
            Duration::from_secs(30),
            run_loop(&mut terminal, &mut app, &theme, runner, (tx, rx), vec![], &mut clip),
        )
        .await
        .expect("loop ends")
        .expect("loop ok");
        assert_eq!(code, 130, "Ctrl-C");
        assert!(!driver.await.expect("driver"), "still running before the cancel");
        assert!(dropped.load(Ordering::SeqCst), "cancel aborted the running task");
        assert!(!app.busy());
        assert!(app.session.targets[0].probe.is_none(), "a cancelled run leaves the old results");
        lab.shutdown().await;
    });
}

/// Send `events` to the loop in order, then let it run until the app exits.
fn drive_loop(app: &mut App, events: Vec<Event>) -> (i32, String) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        for e in events {
            tx.send(e).expect("send");
        }
        let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("terminal");
        let mut clip = |_: &str| Ok(());
        let runner = engine_runner();
        let code = tokio::time::timeout(
            Duration::from_secs(30),
            run_loop(&mut terminal, app, &dark(), runner, (tx, rx), vec![], &mut clip),
        )
        .await
        .expect("loop ends")
        .expect("loop ok");
        (code, buffer_text(terminal.backend().buffer()))
    })
}

#[test]
fn loop_saves_and_opens_session_files_for_the_app() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.json");
    let named = |name: &str| TargetRun { name: name.into(), ..Default::default() };
    let input = |k: KeyEvent| Event::Input(TermEvent::Key(k));

    // `s` writes the file; deleting a target and opening the file brings it back.
    let mut app = App::new(Session::new(vec![named("one"), named("two")]));
    app.session_path = Some(path.clone());
    app.dirty = true;
    let keys = [ch('s'), ch('x'), ch('y'), ch('o'), key(KeyCode::Enter)].map(input);
    let (code, screen) = drive_loop(&mut app, keys.into_iter().chain([Event::Signal(143)]).collect());
    assert_eq!(code, 143);
    let saved = mtls_doctor::tui::load_session(&path).expect("the loop wrote the session");
    assert_eq!(saved.targets.len(), 2);
    assert_eq!(app.session.targets, saved.targets, "open replaced the edited session");
    assert!(!app.dirty);
    assert_eq!(app.status.as_ref().map(|s| s.kind), Some(StatusKind::Ok));
    assert!(screen.contains("Opened") && screen.contains("(2 target(s))"), "{screen}");

    // A file that is not a session: the error is shown and the session kept.
    std::fs::write(&path, "{ not json").expect("write");
    app.exit = None;
    app.on_key(ch('x'));
    app.on_key(ch('y'));
    let keys = [ch('o'), key(KeyCode::Enter)].map(input);
    let (_, screen) = drive_loop(&mut app, keys.into_iter().chain([Event::Signal(143)]).collect());
    assert_eq!(app.session.targets.len(), 1, "a failed open keeps the session");
    assert!(app.dirty);
    assert_eq!(app.status.as_ref().map(|s| s.kind), Some(StatusKind::Error));
    assert!(screen.contains("s.json"), "{screen}");
}

#[test]
fn mouse_click_selects_a_target_and_focuses_panes() {
    let mut app = app_on("healthy inbound");
    app.size = ratatui::layout::Rect::new(0, 0, 160, 45);
    let a = app.layout();
    let click = |col, row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: col,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Row 3 of the list is the fourth target.
    app.on_mouse(click(a.targets.x + 5, a.targets.y + 4));
    assert_eq!(app.selected, 3);
    app.on_mouse(click(a.findings.x + 5, a.findings.y + 2));
    assert_eq!(app.focus, Pane::Findings);
    let wheel = MouseEvent { kind: MouseEventKind::ScrollDown, ..click(a.findings.x + 5, a.findings.y + 2) };
    app.on_mouse(wheel);
    assert_eq!(app.findings_index, 1);
}

// ----- screenshots ---------------------------------------------------------------------------

/// The views the README shows, as (file stem, target, keys, width, height, theme).
fn screenshot_specs() -> Vec<(&'static str, &'static str, &'static str, u16, u16, &'static str)> {
    vec![
        ("overview", "healthy inbound", "", 160, 45, "dark"),
        ("diagnosis-403", "rogue client certificate", "5", 160, 45, "dark"),
        ("diagnosis-502", "backend distrusts the gateway's CA", "5", 160, 45, "dark"),
        ("certificate-detail", "healthy inbound", "4l\n", 160, 45, "dark"),
        ("theme-dark", "negotiation off", "5", 160, 45, "dark"),
        ("theme-light", "negotiation off", "5", 160, 45, "light"),
        ("theme-high-contrast", "negotiation off", "5", 160, 45, "high-contrast"),
        ("small-80x24", "expired client certificate", "", 80, 24, "dark"),
    ]
}

/// Renders every screenshot. With `MTLS_DOCTOR_SCREENSHOTS=1` (scripts/screenshots.sh) they are
/// written to `screenshots/`; otherwise to a temporary directory, so the test still checks them.
#[test]
fn screenshots_render_real_views_as_svg() {
    let out: PathBuf = if std::env::var_os("MTLS_DOCTOR_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots")
    } else {
        std::env::temp_dir().join(format!("mtls-doctor-screenshots-{}", std::process::id()))
    };
    std::fs::create_dir_all(&out).expect("screenshot dir");
    for (stem, target, keys, w, h, theme_name) in screenshot_specs() {
        let mut app = app_on(target);
        for k in keys.chars() {
            app.on_key(if k == '\n' { key(KeyCode::Enter) } else { ch(k) });
        }
        let theme = Theme::load_with_colour(Some(theme_name)).expect("theme");
        let buf = render_to_buffer(&app, &theme, w, h);
        let doc = svg::buffer_to_svg(&buf, &theme);
        assert!(doc.starts_with("<svg ") && doc.contains("<text") && doc.contains("mtls-doctor"), "{stem}");
        std::fs::write(out.join(format!("{stem}.svg")), doc).expect("write svg");
    }
    if std::env::var_os("MTLS_DOCTOR_SCREENSHOTS").is_none() {
        let _ = std::fs::remove_dir_all(&out);
    }
}

// ----- the real program under tmux -----------------------------------------------------------

/// A tmux server on its own socket; everything it started is killed on drop.
pub(crate) struct Tmux {
    socket: String,
    server_pid: Option<u32>,
}

impl Tmux {
    pub(crate) fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    pub(crate) fn start(name: &str, command: &str) -> Tmux {
        let socket = format!("mtls-doctor-test-{}-{name}", std::process::id());
        let mut t = Tmux { socket, server_pid: None };
        let ok = t
            .cmd()
            .args(["-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "45", "-s", "tui"])
            .arg(command)
            .status()
            .expect("tmux runs");
        assert!(ok.success(), "tmux new-session");
        let pid = t.cmd().args(["display-message", "-p", "-t", "tui", "#{pid}"]).output().expect("tmux pid");
        t.server_pid = String::from_utf8_lossy(&pid.stdout).trim().parse().ok();
        t
    }

    pub(crate) fn capture(&self) -> String {
        let o = self.cmd().args(["capture-pane", "-p", "-t", "tui"]).output().expect("capture");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        let ok = self.cmd().args(["send-keys", "-t", "tui"]).args(keys).status().expect("send-keys");
        assert!(ok.success());
    }

    /// Wait (bounded) until the screen contains `needle`.
    pub(crate) fn wait_for(&self, needle: &str, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.capture();
            if screen.contains(needle) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what} ({needle:?}); screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
        if let Some(pid) = self.server_pid {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    }
}

pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `mtls-doctor open FILE`: the session read-only in the TUI.
fn open_command(session: &Path) -> String {
    let bin = env!("CARGO_BIN_EXE_mtls-doctor");
    format!("{} open {}", sh_quote(bin), sh_quote(&session.display().to_string()))
}

/// `mtls-doctor demo`: the binary starts its own lab and opens the TUI on the lab session.
pub(crate) fn demo_command() -> String {
    format!("{} demo", sh_quote(env!("CARGO_BIN_EXE_mtls-doctor")))
}

/// Run a TUI command in tmux; when it exits the pane stays, showing the exit code and whether the
/// terminal is back in cooked mode (`icanon`) rather than raw (`-icanon`).
pub(crate) fn tmux_tui(name: &str, program: &str) -> Tmux {
    let command =
        format!("{program}; echo \"exited $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon'; exec sleep 120");
    let tmux = Tmux::start(name, &format!("sh -c {}", sh_quote(&command)));
    let screen = tmux.wait_for("Targets (10)", "the TUI");
    assert!(screen.contains("healthy inbound") && screen.contains("Handshake"), "{screen}");
    tmux
}

/// After the program ended: its exit code, the normal screen back and the terminal in cooked mode.
pub(crate) fn assert_exited(tmux: &Tmux, code: i32) {
    let screen = tmux.wait_for(&format!("exited {code}"), "the exit");
    let screen =
        if screen.lines().any(|l| l.trim().ends_with("icanon")) { screen } else { tmux.wait_for("icanon", "stty") };
    assert!(!screen.contains("Targets (10)"), "alternate screen left behind:\n{screen}");
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "terminal left in raw mode:\n{screen}");
}

#[test]
fn end_to_end_under_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is not installed: run .ci/run or apt-get install -y tmux");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("session.json");
    save_session(demo_session(), &file).expect("save");

    // The real `demo`: its own lab on loopback, the TUI on its session.
    let tmux = tmux_tui("quit", &demo_command());
    // Select "negotiation off", re-run it against the live lab and wait for its findings.
    tmux.keys(&["j", "r"]);
    tmux.wait_for("negotiation off finished", "the background probe");
    tmux.keys(&["5"]);
    let screen = tmux.wait_for("gateway-did-not-request-cert", "the findings");
    assert!(screen.contains("✖ ERROR") && screen.contains("Findings (4)"), "{screen}");
    // Copy the fix steps: visible confirmation.
    tmux.keys(&["y"]);
    tmux.wait_for("Copied", "the copy confirmation");
    // Help overlay, then quit: once, since a re-run's result is not a change the user made.
    tmux.keys(&["?"]);
    tmux.wait_for("run every target", "help");
    tmux.keys(&["?"]);
    tmux.keys(&["q"]);
    assert_exited(&tmux, 0);
    drop(tmux);

    // A saved session opens read-only; Ctrl-C ends it at once, with the conventional 130, and
    // restores the terminal too.
    let tmux = tmux_tui("ctrl-c", &open_command(&file));
    let screen = tmux.wait_for("read-only", "the read-only header");
    assert!(screen.contains("session.json"), "{screen}");
    // Its key bar offers only what a read-only view accepts.
    let screen = tmux.wait_for("q quit", "the key bar");
    let bar = screen.lines().rev().find(|l| l.contains("q quit")).unwrap_or_default();
    assert!(bar.contains("copy") && bar.contains("help"), "{bar}");
    for refused in ["run", "edit", "add", "dup", "del", "cancel"] {
        assert!(!bar.split_whitespace().any(|w| w == refused), "read-only key bar offers {refused}: {bar}");
    }
    tmux.keys(&["C-c"]);
    assert_exited(&tmux, 130);
    drop(tmux);
}

/// `tui TARGET` probes at once and quits with one `q` when the user changed nothing; after an
/// edit (a deleted target) the first `q` warns.
#[test]
fn tui_with_a_target_quits_with_one_q_unless_something_changed() {
    let port = crate::peers::free_port();
    let bin = sh_quote(env!("CARGO_BIN_EXE_mtls-doctor"));
    let program = format!("{bin} tui 127.0.0.1:{port} 127.0.0.2:{port} --no-compare --timeout 3");
    let command = format!("{program}; echo \"exited $?\"; exec sleep 120");
    let tmux = Tmux::start("one-q", &format!("sh -c {}", sh_quote(&command)));
    tmux.wait_for("finished", "the probe's result");
    tmux.keys(&["q"]);
    tmux.wait_for("exited 0", "one q quits");
    drop(tmux);

    let tmux = Tmux::start("changed-q", &format!("sh -c {}", sh_quote(&command)));
    tmux.wait_for("finished", "the probe's result");
    tmux.keys(&["x"]);
    tmux.keys(&["y"]);
    tmux.wait_for("Deleted", "the deletion");
    tmux.keys(&["q"]);
    tmux.wait_for("press q again", "the unsaved-changes warning");
    tmux.keys(&["q"]);
    tmux.wait_for("exited 0", "the second q quits");
}

/// The session saved by the TUI reads back the same (what `s` writes is what `open` reads).
#[test]
fn saved_session_reads_back_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.json");
    save_session(demo_session(), &path).expect("save");
    let back = mtls_doctor::tui::load_session(&path).expect("load");
    assert_eq!(back.targets.len(), demo_session().targets.len());
    for (a, b) in back.targets.iter().zip(&demo_session().targets) {
        assert_eq!(a.findings, b.findings);
        assert_eq!(a.probe.as_ref().map(|p| &p.server_chain), b.probe.as_ref().map(|p| &p.server_chain));
    }
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(!text.contains("demo-subscription-key"), "secret header value written to the session");
    assert!(!text.contains("PRIVATE KEY"));
}
