//! The TUI habits k9s, lazygit and curl users bring (issue 13): `/` filters targets and findings,
//! `n`/`N` step between matches, pane numbers in screen order in every layout, long target names,
//! the response body expanded in place, and no temporary path of the demo lab on screen. On the
//! demo lab's real session in `TestBackend`, and through the real binary under tmux.

use mtls_doctor::session::{Session, TargetRun};
use mtls_doctor::tui::app::{Overlay, Pane};
use mtls_doctor::tui::view::render_text;
use mtls_doctor::tui::App;
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use std::time::{Duration, Instant};

use crate::tui::{app_on, assert_exited, ch, dark, demo_command, demo_session, key, tmux_tui, Tmux};

fn type_text(app: &mut App, text: &str) {
    text.chars().for_each(|c| {
        app.on_key(ch(c));
    });
}

/// The rows of the targets list as drawn: a border, the selection marker, a status badge.
fn listed(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter(|l| {
            let c: Vec<char> = l.chars().take(3).collect();
            c.len() == 3 && matches!(c[1], '▶' | ' ') && matches!(c[2], '·' | '✔' | '⚠' | '✖' | '◐' | '◓' | '◑' | '◒')
        })
        .map(|l| l.to_string())
        .collect()
}

/// Wait (bounded) until the captured screen satisfies `ok`: a redraw can be caught half done.
fn wait_until(tmux: &Tmux, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let screen = tmux.capture();
        if ok(&screen) {
            return screen;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn slash_filters_targets_and_findings_and_n_steps_between_matches() {
    let mut app = App::new(demo_session().clone());
    let all = demo_session();
    app.on_key(ch('/'));
    assert!(matches!(app.overlay, Overlay::Filter));
    // Case-insensitive, applied as it is typed: target names and finding ids alike.
    type_text(&mut app, "POLICY");
    let screen = render_text(&app, &dark(), 160, 45);
    let expected: Vec<&TargetRun> = all
        .targets
        .iter()
        .filter(|t| {
            t.name.to_lowercase().contains("policy")
                || t.findings.iter().any(|f| {
                    f.id.as_str().contains("policy")
                        || f.title.to_lowercase().contains("policy")
                        || f.subject.as_deref().is_some_and(|s| s.to_lowercase().contains("policy"))
                })
        })
        .collect();
    assert!(!expected.is_empty() && expected.len() < all.targets.len(), "a filter that narrows");
    let rows = listed(&screen);
    let names: Vec<&str> = expected.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(rows.len(), expected.len(), "{names:?}\n{screen}");
    for t in &expected {
        let start: String = t.name.chars().take(30).collect();
        assert!(rows.iter().any(|r| r.contains(&start)), "{} not listed:\n{screen}", t.name);
    }
    assert!(!rows.iter().any(|r| r.contains("healthy outbound")), "{screen}");
    assert!(expected.len() > 2, "several targets: {names:?}");
    let title = format!("Targets ({} of {}) · /POLICY", expected.len(), all.targets.len());
    assert!(screen.contains(&title), "{title}:\n{screen}");
    // The prompt and the match count, in the status line.
    let count = app.matches().len();
    assert!(screen.contains(&format!("/POLICY▏  {count} match(es) in {} target(s)", expected.len())), "{screen}");
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.overlay, Overlay::None));
    assert_eq!(app.filter, "POLICY", "Enter keeps the filter");

    // A target listed for one of its findings shows only the findings that match.
    let by_finding = expected.iter().position(|t| !t.name.to_lowercase().contains("policy"));
    {
        let t = expected[by_finding.expect("a target listed only for a finding")];
        let i = all.targets.iter().position(|x| x.name == t.name).expect("index");
        while app.selected != i {
            app.on_key(ch('n'));
        }
        let screen = render_text(&app, &dark(), 160, 45);
        let shown = app.visible_findings();
        assert!(!shown.is_empty() && shown.len() < t.findings.len(), "{screen}");
        for j in &shown {
            assert!(screen.contains(t.findings[*j].id.as_str()), "{screen}");
        }
    }

    // n walks every match in screen order and wraps; N goes back.
    let matches = app.matches();
    app.selected = 0;
    app.focus = Pane::Targets;
    let mut seen = Vec::new();
    for _ in 0..matches.len() {
        app.on_key(ch('n'));
        seen.push((app.selected, (app.focus == Pane::Findings).then_some(app.findings_index)));
        let status = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(status.starts_with("Match ") && status.ends_with(&format!(" of {}", matches.len())), "{status}");
    }
    let want: Vec<_> = matches.iter().map(|m| (m.target, m.finding)).collect();
    assert_eq!(seen, want);
    app.on_key(ch('N'));
    assert_eq!(app.selected, want[want.len().saturating_sub(2)].0);
    // A finding's match focuses the Findings pane on it.
    if let Some(m) = matches.iter().find(|m| m.finding.is_some()) {
        app.selected = 0;
        app.focus = Pane::Targets;
        while (app.selected, app.findings_index) != (m.target, m.finding.unwrap_or(0)) || app.focus != Pane::Findings {
            app.on_key(ch('n'));
        }
        let screen = render_text(&app, &dark(), 160, 45);
        assert!(screen.contains("match) ·"), "the Findings title says it is filtered:\n{screen}");
    }

    // j/k stay among the listed targets.
    app.focus = Pane::Targets;
    for _ in 0..20 {
        app.on_key(ch('j'));
        assert!(app.visible_targets().contains(&app.selected));
    }

    // A click picks the row as drawn, among the listed targets.
    let shown = app.visible_targets();
    let a = app.layout();
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: a.targets.x + 3,
        row: a.targets.y + 1 + (shown.len() as u16 - 1),
        modifiers: KeyModifiers::NONE,
    };
    app.on_mouse(click);
    assert_eq!(app.selected, shown[shown.len() - 1], "the last listed row");

    // Esc clears: every target is back.
    app.on_key(key(KeyCode::Esc));
    assert!(app.filter.is_empty());
    let screen = render_text(&app, &dark(), 160, 45);
    assert_eq!(listed(&screen).len(), all.targets.len(), "{screen}");
    assert!(screen.contains("Filter cleared"), "{screen}");

    // No match: said so, and Esc in the prompt clears it.
    app.on_key(ch('/'));
    type_text(&mut app, "no-such-thing");
    let screen = render_text(&app, &dark(), 160, 45);
    assert!(screen.contains("No target matches /no-such-thing") && screen.contains("no match"), "{screen}");
    app.on_key(key(KeyCode::Esc));
    assert!(app.filter.is_empty() && matches!(app.overlay, Overlay::None));
}

#[test]
fn pane_numbers_follow_screen_order_in_every_layout_and_the_number_keys_follow_them() {
    let mut app = app_on("healthy inbound");
    let titles = ["1 Targets", "2 Handshake", "3 Verdicts", "4 Certificates", "5 Findings"];
    // Wide: left column, then the right one top to bottom, left to right.
    let screen = render_text(&app, &dark(), 160, 45);
    let at = |s: &str, needle: &str| {
        s.lines()
            .enumerate()
            .find_map(|(row, l)| l.find(needle).map(|col| (row, l[..col].chars().count())))
            .unwrap_or_else(|| panic!("{needle} missing:\n{s}"))
    };
    let places: Vec<(usize, usize)> = titles.iter().map(|t| at(&screen, t)).collect();
    let (targets, rest) = places.split_first().expect("five");
    assert!(rest.iter().all(|p| p.1 > targets.1), "the list is the left column: {places:?}");
    let mut sorted = rest.to_vec();
    sorted.sort();
    assert_eq!(sorted, rest, "right column in reading order: {places:?}");
    // Narrow: the list, then the tabs in the same numbers, and the shown pane titled with its own.
    let screen = render_text(&app, &dark(), 80, 24);
    let tabs = screen.lines().find(|l| l.contains("2 Handshake")).expect("tab bar");
    let cols: Vec<usize> = titles[1..].iter().map(|t| tabs.find(t).expect(t)).collect();
    assert!(cols.windows(2).all(|w| w[0] < w[1]), "{tabs}");
    assert!(screen.contains("1 Targets"), "{screen}");
    for (n, pane) in [('2', Pane::Timeline), ('3', Pane::Verdicts), ('4', Pane::Chains), ('5', Pane::Findings)] {
        app.on_key(ch(n));
        assert_eq!(app.focus, pane);
        assert_eq!(pane.number().to_string(), n.to_string());
        let screen = render_text(&app, &dark(), 80, 24);
        let title = format!("{n} {}", pane.title());
        assert_eq!(screen.matches(&title).count(), 2, "tab and the pane's own title:\n{screen}");
        let screen = render_text(&app, &dark(), 160, 45);
        assert!(screen.contains(&format!("┏ {title}")), "the focused pane's heavy border:\n{screen}");
    }
    app.on_key(ch('1'));
    assert_eq!(app.focus, Pane::Targets);
}

#[test]
fn long_target_names_get_room_and_are_cut_with_an_ellipsis_only_when_they_must() {
    let long = "orders API, production, West Europe (inbound)";
    let mid = "orders API, prod, West Europe (in)";
    let huge = format!("{} end", "x".repeat(150));
    let named = |name: &str| TargetRun { name: name.into(), ..Default::default() };
    let app = App::new(Session::new(vec![named("short"), named(mid), named(long), named(&huge)]));
    // The list grows with the names up to two fifths of the screen, leaving the rest 110 columns.
    for (w, fits) in [(160, vec![mid]), (200, vec![mid, long])] {
        let screen = render_text(&app, &dark(), w, 45);
        for name in fits {
            assert!(screen.contains(name), "{name:?} fits {w} columns:\n{screen}");
        }
        let row = screen.lines().find(|l| l.contains("xxxx")).expect("huge row");
        assert!(row.contains("x…") && !row.contains(" end"), "cut with an ellipsis: {row}");
        let right_border = row.char_indices().filter(|(_, c)| *c == '│' || *c == '┃').nth(1).expect("border");
        let list_w = row[..right_border.0].chars().count() + 1;
        assert!(list_w <= (w as usize * 2 / 5).min(w as usize - 110), "{w}: {list_w}\n{row}");
        assert!(list_w > 44, "the list made room: {list_w}");
    }
    let screen = render_text(&app, &dark(), 160, 45);
    assert!(screen.lines().any(|l| l.contains("orders API, production, West Europ") && l.contains('…')), "{screen}");
    // Narrow: the list spans the screen.
    let screen = render_text(&app, &dark(), 100, 24);
    assert!(screen.contains(long), "{screen}");
}

#[test]
fn b_expands_the_response_body_in_place_and_folds_it_again() {
    let with_body = demo_session()
        .targets
        .iter()
        .find(|t| t.probe.as_ref().and_then(|p| p.http.as_ref()).is_some_and(|h| h.body_preview.lines().count() > 2))
        .expect("a demo target whose response body has several lines");
    let body = with_body.probe.as_ref().and_then(|p| p.http.as_ref()).map(|h| h.body_preview.clone()).expect("body");
    let mut app = app_on(&with_body.name);
    let folded = render_text(&app, &dark(), 160, 45);
    assert!(folded.contains("· b body") && !folded.contains("Response body ·"), "{folded}");
    let last = body.lines().rev().find(|l| l.trim().len() > 2).expect("a last line").trim().to_string();
    app.on_key(ch('b'));
    assert_eq!(app.focus, Pane::Timeline);
    let open = render_text(&app, &dark(), 160, 45);
    assert!(open.contains("Response body ·") && open.contains("b folds it"), "{open}");
    for l in body.lines().map(str::trim).filter(|l| !l.is_empty() && l.len() < 40) {
        assert!(open.contains(l), "body line {l:?} missing:\n{open}");
    }
    assert!(open.contains(&last), "{open}");
    assert!(open.contains(" b body"), "the key bar offers it on the Handshake pane:\n{open}");
    app.on_key(ch('b'));
    assert_eq!(app.timeline_scroll, 0);
    let again = render_text(&app, &dark(), 160, 45);
    assert!(again.contains("· b body") && !again.contains("Response body ·"), "{again}");
}

/// The real `demo` under tmux: `/` filters with a visible prompt and count, `n` moves, `Esc`
/// clears; pane numbers on screen; the help and key bar say so; `b` opens the body.
#[test]
fn search_pane_numbers_and_body_under_tmux() {
    let tmux = tmux_tui("search", &demo_command());
    let screen = tmux.capture();
    for t in ["1 Targets", "2 Handshake", "3 Verdicts", "4 Certificates", "5 Findings"] {
        assert!(screen.contains(t), "{t}:\n{screen}");
    }
    assert!(screen.contains("/ filter"), "key bar:\n{screen}");
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "expired"]);
    let screen = wait_until(&tmux, "the filter prompt", |s| {
        s.contains("/expired▏") && s.contains("of 10) · /expired") && !s.contains("healthy outbound")
    });
    assert!(screen.contains("match(es) in"), "the match count:\n{screen}");
    tmux.keys(&["Enter"]);
    tmux.keys(&["n"]);
    tmux.wait_for("Match ", "n");
    tmux.keys(&["Escape"]);
    wait_until(&tmux, "the cleared filter", |s| s.contains("Targets (10)") && s.contains("healthy outbound"));
    tmux.keys(&["?"]);
    let screen = tmux.wait_for("Searching", "help");
    assert!(screen.contains("next / previous match"), "{screen}");
    // `?` closes it too, and without ESC's wait for a sequence.
    tmux.keys(&["?"]);
    wait_until(&tmux, "help closed", |s| !s.contains("Searching"));
    tmux.keys(&["1", "g", "b"]);
    tmux.wait_for("Response body ·", "the expanded body");
    tmux.keys(&["q"]);
    assert_exited(&tmux, 0);
}

/// The demo's lab files live in a temporary directory: the edit form, the panes and the results
/// of a re-run in the UI name them `lab:NAME`, never by their path.
#[test]
fn demo_edit_form_and_reruns_show_lab_names_not_temporary_paths() {
    let tmp = std::env::temp_dir().display().to_string();
    let no_tmp = |screen: &str, what: &str| {
        assert!(
            !screen.contains("/tmp/") && !screen.contains(&format!("{tmp}/")),
            "{what} shows a temp path:\n{screen}"
        );
    };
    let tmux = tmux_tui("lab-names", &demo_command());
    no_tmp(&tmux.capture(), "the first screen");
    // The edit form of a target with a client certificate, a policy and uploaded CAs.
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("Edit healthy inbound", "the edit form");
    no_tmp(&screen, "the edit form");
    assert!(screen.contains("lab:"), "files named by the lab:\n{screen}");
    // Saved unchanged and re-run: the run reads the real files and shows lab names again.
    tmux.keys(&["Enter"]);
    tmux.keys(&["r"]);
    let screen = tmux.wait_for("healthy inbound finished", "the re-run");
    no_tmp(&screen, "the re-run");
    for pane in ["3", "4", "5"] {
        tmux.keys(&[pane]);
        std::thread::sleep(std::time::Duration::from_millis(200));
        no_tmp(&tmux.capture(), "a pane after the re-run");
    }
    // The inspect-only target: its files and a re-run of it.
    tmux.keys(&["1", "j", "j", "r"]);
    let screen = tmux.wait_for("(offline) finished", "the inspect re-run");
    no_tmp(&screen, "the inspect re-run");
    assert!(!screen.contains("Input problem"), "the files were found:\n{screen}");
    // An outbound target's form: the gateway's certificate and key.
    tmux.keys(&["j", "j", "j", "j", "e"]);
    let screen = tmux.wait_for("Edit backend distrusts", "an outbound target's form");
    no_tmp(&screen, "an outbound target's form");
    assert!(screen.contains("lab:"), "{screen}");
    tmux.keys(&["Escape"]);
    // Alone: ESC and a key read right after it are Alt+key.
    wait_until(&tmux, "the form closed", |s| !s.contains("Edit backend distrusts"));
    // Every target re-run at once.
    tmux.keys(&["R"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    for _ in 0..10 {
        tmux.keys(&["j"]);
        std::thread::sleep(std::time::Duration::from_millis(150));
        let screen = tmux.capture();
        no_tmp(&screen, "a target after R");
        assert!(!screen.contains("Input problem"), "{screen}");
    }
    tmux.keys(&["q", "q"]);
    assert_exited(&tmux, 0);
}
