//! Rendering: a pure function from [`App`] state and a [`Theme`] to a buffer, so every screen can be
//! drawn into `TestBackend`. Every string that comes from data goes through `report::clean` first:
//! a certificate subject or a server's body must never drive the terminal.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget, Wrap};

use super::app::{App, Overlay, Pane, PathPurpose, Side, StatusKind, TargetStatus};
use super::form::{FieldKey, TargetForm};
use super::theme::{Role, Theme};
use super::timeline::{self, StepStatus};
use crate::cert::CertInfo;
use crate::diagnose::{Finding, Severity};
use crate::probe::{ProbeResult, ProbeRole};
use crate::report::clean;
use crate::session::{TargetKind, TargetRun};
use crate::verify::Verdict;

/// Below this the screen shows one detail pane at a time, chosen with Tab or the tab bar.
pub const WIDE_MIN: (u16, u16) = (120, 32);

/// Where each pane is on a screen of a given size. Hidden panes have an empty rectangle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub targets: Rect,
    pub tabs: Option<Rect>,
    pub timeline: Rect,
    pub verdicts: Rect,
    pub chains: Rect,
    pub findings: Rect,
    pub footer: Rect,
    pub wide: bool,
    /// Column ranges of the tab bar entries (narrow layout).
    pub tab_ranges: Vec<(u16, u16, Pane)>,
}

impl Areas {
    pub fn pane_at(&self, p: Position) -> Option<Pane> {
        [
            (self.targets, Pane::Targets),
            (self.timeline, Pane::Timeline),
            (self.verdicts, Pane::Verdicts),
            (self.chains, Pane::Chains),
            (self.findings, Pane::Findings),
        ]
        .into_iter()
        .find(|(r, _)| r.area() > 0 && r.contains(p))
        .map(|(_, pane)| pane)
    }

    pub fn tab_at(&self, column: u16) -> Option<Pane> {
        self.tab_ranges.iter().find(|(from, to, _)| column >= *from && column < *to).map(|(_, _, p)| *p)
    }

    pub fn rect(&self, pane: Pane) -> Rect {
        match pane {
            Pane::Targets => self.targets,
            Pane::Timeline => self.timeline,
            Pane::Verdicts => self.verdicts,
            Pane::Chains => self.chains,
            Pane::Findings => self.findings,
        }
    }
}

/// First visible row of the targets list so the selection stays in view.
pub fn target_list_offset(selected: usize, visible: usize) -> usize {
    if visible == 0 {
        0
    } else {
        selected.saturating_sub(visible - 1)
    }
}

/// One cell of the with/without-certificate table: whether it is good, and its text.
type CompareCell = fn(&ProbeResult) -> (bool, String);

/// A logical line and the indent its continuation lines take when it is wrapped.
type Para = (Line<'static>, usize);

/// Word-wrap logical lines to `width` columns with hanging indents, so wrapped details stay in
/// their column. Words longer than a line (thumbprints, paths) are split.
pub fn wrap_paras(paras: Vec<Para>, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (line, indent) in paras {
        out.extend(wrap_hanging(line, width, indent));
    }
    out
}

fn wrap_hanging(line: Line<'static>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent = indent.min(width / 2);
    let line_style = line.style;
    let mut lines = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut w = 0usize;
    let mut start = 0usize;
    let mut new_line = |cur: &mut Vec<Span<'static>>, w: &mut usize, start: &mut usize| {
        lines.push(Line::from(std::mem::take(cur)).style(line_style));
        cur.push(Span::raw(" ".repeat(indent)));
        *w = indent;
        *start = indent;
    };
    for span in line.spans {
        let style = span.style;
        for token in span.content.split_inclusive(' ') {
            let tw = Span::raw(token).width();
            let tw_trim = Span::raw(token.trim_end()).width();
            if w + tw_trim > width && w > start {
                new_line(&mut cur, &mut w, &mut start);
                if token.trim().is_empty() {
                    continue;
                }
            }
            if w + tw_trim <= width {
                cur.push(Span::styled(token.to_string(), style));
                w += tw;
                continue;
            }
            let mut piece = String::new();
            for c in token.chars() {
                let cw = Span::raw(c.to_string()).width();
                if w + cw > width && w > start {
                    cur.push(Span::styled(std::mem::take(&mut piece), style));
                    new_line(&mut cur, &mut w, &mut start);
                }
                piece.push(c);
                w += cw;
            }
            cur.push(Span::styled(piece, style));
        }
    }
    lines.push(Line::from(cur).style(line_style));
    lines
}

/// Styles do not change how text wraps: layout measures with this theme.
fn plain_theme() -> &'static Theme {
    static PLAIN: std::sync::OnceLock<Theme> = std::sync::OnceLock::new();
    PLAIN.get_or_init(|| Theme::builtin_default().monochrome())
}

/// Cut `text` to `width` columns, marking the cut with an ellipsis.
fn fit(text: &str, width: usize) -> String {
    if Span::raw(text).width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in text.chars() {
        let cw = Span::raw(c.to_string()).width();
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// File names are enough on screen; the full paths are in the edit form and the session.
fn file_names(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| {
            std::path::Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const TAB_PANES: [Pane; 4] = [Pane::Timeline, Pane::Chains, Pane::Verdicts, Pane::Findings];

/// The layout for `size`: everything at once when there is room, else the targets list, a tab
/// bar and one detail pane.
pub fn areas(size: Rect, app: &App) -> Areas {
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(2)]).areas(size);
    let mut a = Areas { header, footer, ..Default::default() };
    if size.width >= WIDE_MIN.0 && size.height >= WIDE_MIN.1 {
        a.wide = true;
        let list_w = (size.width / 4).clamp(30, 44);
        let [left, right] = Layout::horizontal([Constraint::Length(list_w), Constraint::Min(0)]).areas(body);
        a.targets = left;
        // The timeline gets the rows it needs (within bounds) so the failing step is on screen.
        let [timeline_w, _] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(right);
        let needed = app
            .target()
            .map(|t| {
                wrap_paras(View::new(app, plain_theme()).timeline_paras(t), timeline_w.width.saturating_sub(2) as usize)
                    .len()
            })
            .unwrap_or(0) as u16;
        let top_h = (needed + 2).clamp(12, body.height.saturating_sub(11 + 8).max(12));
        let [top, middle, bottom] =
            Layout::vertical([Constraint::Length(top_h), Constraint::Length(11), Constraint::Min(6)]).areas(right);
        let [timeline, verdicts] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(top);
        a.timeline = timeline;
        a.verdicts = verdicts;
        a.chains = middle;
        a.findings = bottom;
        return a;
    }
    let n = app.session.targets.len() as u16;
    let list_h = (n + 2).clamp(3, if body.height >= 18 { 7 } else { 4 });
    let [list, tabs, detail] =
        Layout::vertical([Constraint::Length(list_h), Constraint::Length(1), Constraint::Min(0)]).areas(body);
    a.targets = list;
    a.tabs = Some(tabs);
    let mut x = tabs.x + 1;
    for (i, pane) in TAB_PANES.iter().enumerate() {
        let w = tab_label(*pane, i).chars().count() as u16;
        a.tab_ranges.push((x, x + w, *pane));
        x += w + 1;
    }
    let shown = if app.focus == Pane::Targets { app.narrow_pane } else { app.focus };
    match shown {
        Pane::Timeline | Pane::Targets => a.timeline = detail,
        Pane::Chains => a.chains = detail,
        Pane::Verdicts => a.verdicts = detail,
        Pane::Findings => a.findings = detail,
    }
    a
}

fn tab_label(pane: Pane, i: usize) -> String {
    format!(" {} {} ", i + 2, pane.title())
}

/// The whole screen: `impl Widget for &View` renders the app as it is.
pub struct View<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl<'a> View<'a> {
    pub fn new(app: &'a App, theme: &'a Theme) -> Self {
        View { app, theme }
    }

    fn s(&self, role: Role) -> Style {
        self.theme.style(role)
    }

    fn block(&self, pane: Pane, title: String) -> Block<'static> {
        let focused = self.app.focus == pane;
        let (border, title_style) = if focused {
            (self.s(Role::Focus), self.s(Role::Focus))
        } else {
            (self.s(Role::Border), self.s(Role::Title))
        };
        // The focused pane also gets a heavier border: visible without colour.
        Block::default()
            .borders(Borders::ALL)
            .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
            .border_style(border)
            .title(Span::styled(format!(" {title} "), title_style))
    }
}

impl Widget for &View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        buf.set_style(area, self.s(Role::Background));
        let a = areas(area, self.app);
        self.header(a.header, buf);
        self.targets(a.targets, buf);
        if let Some(tabs) = a.tabs {
            self.tabs(tabs, buf);
        }
        let target = self.app.target();
        if a.timeline.area() > 0 {
            self.timeline(a.timeline, target, buf);
        }
        if a.verdicts.area() > 0 {
            self.verdicts(a.verdicts, target, buf);
        }
        if a.chains.area() > 0 {
            self.chains(a.chains, buf);
        }
        if a.findings.area() > 0 {
            self.findings(a.findings, target, buf);
        }
        self.footer(a.footer, buf);
        match &self.app.overlay {
            Overlay::None => {}
            Overlay::Help { scroll } => self.help(area, *scroll, buf),
            Overlay::Detail { side, index, scroll } => self.detail(area, *side, *index, *scroll, buf),
            Overlay::Form(form) => self.form(area, form, buf),
            Overlay::Password { file, .. } => self.password(area, file, buf),
            Overlay::Path { purpose, input } => self.path_prompt(area, *purpose, input, buf),
            Overlay::ConfirmDelete { id } => self.confirm_delete(area, *id, buf),
        }
    }
}

// ----- panes -------------------------------------------------------------------------------------

fn severity_badge(s: Severity) -> &'static str {
    match s {
        Severity::Error => "✖ ERROR",
        Severity::Warning => "⚠ WARN ",
        Severity::Info => "ℹ INFO ",
    }
}

fn role_short(t: &TargetRun) -> &'static str {
    match (t.kind, t.options.as_ref().map(|o| o.role)) {
        (TargetKind::Inspect, _) => "file",
        (_, Some(ProbeRole::Outbound)) => "out ",
        _ => "in  ",
    }
}

fn days_text(c: &CertInfo) -> String {
    if c.days_left < 0 {
        format!("EXPIRED {} day(s) ago", -c.days_left)
    } else {
        format!("{} day(s) left", c.days_left)
    }
}

fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

fn ms_text(ms: Option<f64>) -> String {
    ms.map(|m| format!("{m:.1} ms")).unwrap_or_default()
}

impl View<'_> {
    fn header(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let file = match &app.session_path {
            Some(p) => clean(&p.display().to_string()),
            None => "unsaved session".into(),
        };
        let dirty = if app.dirty { " *" } else { "" };
        let n = app.session.targets.len();
        let running = if app.busy() { format!(", {} running", app.running_count()) } else { String::new() };
        let ro = if app.read_only { " · read-only" } else { "" };
        let line = Line::from(vec![
            Span::styled(" mtls-doctor ", self.s(Role::Accent)),
            Span::styled(format!("· {file}{dirty} · {n} target(s){running}{ro} "), self.s(Role::Muted)),
            Span::styled(format!("· theme {} · ? help", self.theme.name), self.s(Role::Muted)),
        ]);
        Paragraph::new(line).render(area, buf);
    }

    fn targets(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let block = self.block(Pane::Targets, format!("Targets ({})", app.session.targets.len()));
        let inner = block.inner(area);
        block.render(area, buf);
        if app.session.targets.is_empty() {
            Paragraph::new(vec![
                Line::styled("No targets yet.", self.s(Role::Muted)),
                Line::from(vec![
                    Span::styled(" a ", self.s(Role::Key)),
                    Span::styled(" adds one", self.s(Role::Muted)),
                ]),
            ])
            .render(inner, buf);
            return;
        }
        let visible = inner.height as usize;
        let offset = target_list_offset(app.selected, visible);
        let mut lines = Vec::new();
        for (i, t) in app.session.targets.iter().enumerate().skip(offset).take(visible) {
            let status = app.target_status(i);
            let badge_style = match status {
                TargetStatus::NotRun => self.s(Role::Muted),
                TargetStatus::Running => self.s(Role::Running),
                TargetStatus::Ok => self.s(Role::Ok),
                TargetStatus::Warning => self.s(Role::Warning),
                TargetStatus::Error => self.s(Role::Error),
            };
            let selected = i == app.selected;
            let marker = if selected { "▶" } else { " " };
            let mut line = Line::from(vec![
                Span::raw(marker),
                Span::styled(status.badge(app.spinner), badge_style),
                Span::styled(format!(" {} ", role_short(t)), self.s(Role::Muted)),
                Span::styled(clean(&t.name), self.s(Role::Text)),
            ]);
            if selected {
                line = line.patch_style(if app.focus == Pane::Targets {
                    self.s(Role::Selection)
                } else {
                    Style::default().add_modifier(Modifier::BOLD)
                });
            }
            lines.push(line);
        }
        Paragraph::new(lines).render(inner, buf);
    }

    fn tabs(&self, area: Rect, buf: &mut Buffer) {
        let shown = if self.app.focus == Pane::Targets { self.app.narrow_pane } else { self.app.focus };
        let mut spans = vec![Span::raw(" ")];
        for (i, pane) in TAB_PANES.iter().enumerate() {
            let style = if *pane == shown {
                if self.app.focus == *pane {
                    self.s(Role::Selection)
                } else {
                    self.s(Role::Accent).add_modifier(Modifier::UNDERLINED)
                }
            } else {
                self.s(Role::Muted)
            };
            spans.push(Span::styled(tab_label(*pane, i), style));
            spans.push(Span::raw(" "));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
    }

    fn not_run_lines(&self, t: &TargetRun) -> Vec<Para> {
        let mut lines = vec![];
        if let Some(e) = &t.error {
            lines.push((Line::styled(format!("✖ Input problem: {}", clean(e)), self.s(Role::Error)), 2));
        }
        if t.probe.is_none() && t.inspected.is_none() {
            let msg =
                if self.app.read_only { "Not run (read-only session)." } else { "Not run yet: press r to probe." };
            lines.push((Line::styled(msg, self.s(Role::Muted)), 0));
        }
        lines
    }

    fn timeline(&self, area: Rect, target: Option<&TargetRun>, buf: &mut Buffer) {
        let Some(t) = target else {
            self.block(Pane::Timeline, "Handshake".into()).render(area, buf);
            return;
        };
        let total = t.probe.as_ref().and_then(|p| p.timings_ms.total);
        let title = match total {
            Some(ms) => format!("Handshake · {} · {}", clean(&t.name), ms_text(Some(ms))),
            None => format!("Handshake · {}", clean(&t.name)),
        };
        let block = self.block(Pane::Timeline, title);
        let inner = block.inner(area);
        block.render(area, buf);
        let lines = wrap_paras(self.timeline_paras(t), inner.width as usize);
        Paragraph::new(lines).scroll((self.app.timeline_scroll, 0)).render(inner, buf);
    }

    fn timeline_paras(&self, t: &TargetRun) -> Vec<Para> {
        let mut paras = self.not_run_lines(t);
        if self.app.is_running(self.app.selected) {
            paras.insert(0, (Line::styled("◐ probing … (c cancels)", self.s(Role::Running)), 0));
        }
        match &t.probe {
            Some(p) => {
                let no_http = t.options.as_ref().is_some_and(|o| o.no_http);
                paras.extend(self.steps_lines(p, no_http));
            }
            None if t.kind == TargetKind::Inspect => paras.push((
                Line::styled(
                    format!("Inspected files, no handshake: {}", clean(&t.files.join(", "))),
                    self.s(Role::Muted),
                ),
                2,
            )),
            None => {}
        }
        paras
    }

    fn steps_lines(&self, p: &ProbeResult, no_http: bool) -> Vec<Para> {
        const DETAIL_COLUMN: usize = 19;
        let steps = timeline::steps(p, no_http);
        let failing = timeline::failing_step(&steps);
        let mut lines = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let style = match s.status {
                StepStatus::Ok => self.s(Role::Ok),
                StepStatus::Warn => self.s(Role::Warning),
                StepStatus::Fail => self.s(Role::Error),
                StepStatus::Skipped | StepStatus::NotReached => self.s(Role::Muted),
            };
            let text_style = if s.status == StepStatus::NotReached { self.s(Role::Muted) } else { self.s(Role::Text) };
            let mut spans = vec![
                Span::styled(s.status.badge(), style),
                Span::styled(format!(" {:<11} ", s.name), self.s(Role::Title)),
                Span::styled(s.detail.clone(), if Some(i) == failing { style } else { text_style }),
            ];
            if let Some(ms) = s.ms {
                spans.push(Span::styled(format!("  {}", ms_text(Some(ms))), self.s(Role::Muted)));
            }
            if Some(i) == failing {
                spans.push(Span::styled("  ◀ fails here", self.s(Role::Error)));
            }
            lines.push((Line::from(spans), DETAIL_COLUMN));
            for sub in &s.sub {
                lines.push((
                    Line::styled(format!("{:w$}{sub}", "", w = DETAIL_COLUMN), self.s(Role::Muted)),
                    DETAIL_COLUMN + 2,
                ));
            }
        }
        lines
    }

    fn verdict_spans(&self, v: &Verdict) -> Vec<Span<'static>> {
        if v.ok {
            vec![Span::styled("✔ ok (0)", self.s(Role::Ok))]
        } else {
            let depth = v.depth.map(|d| format!(" at depth {d}")).unwrap_or_default();
            vec![Span::styled(format!("✖ error {} {}{depth}", v.code, clean(&v.code_name)), self.s(Role::Error))]
        }
    }

    fn verdicts(&self, area: Rect, target: Option<&TargetRun>, buf: &mut Buffer) {
        const COLUMN: usize = 10;
        let block = self.block(Pane::Verdicts, "Verdicts".into());
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(t) = target else { return };
        let label = |s: &str| Span::styled(format!("{s:<COLUMN$}"), self.s(Role::Title));
        let none = |s: &str| Span::styled(s.to_string(), self.s(Role::Muted));
        let more = |text: String, role: Role| (Line::styled(format!("{:COLUMN$}{text}", ""), self.s(role)), COLUMN);
        let mut paras: Vec<Para> = Vec::new();

        // Our verification of the server chain (or of the inspected chain).
        let server = t.probe.as_ref().and_then(|p| p.server_verify.as_ref());
        let inspected = t.inspected.as_ref().and_then(|i| i.verdict.as_ref());
        let mut l = vec![label("Server")];
        match (server, inspected) {
            (Some(v), _) => l.extend(self.verdict_spans(v)),
            (None, Some(v)) => {
                l.push(Span::styled("(inspected) ", self.s(Role::Muted)));
                l.extend(self.verdict_spans(v));
            }
            (None, None) => l.push(none("– not verified (no chain)")),
        }
        paras.push((Line::from(l), COLUMN));
        if let Some(reason) = server.or(inspected).and_then(|v| v.reason.as_ref()) {
            paras.push(more(format!("webpki: {}", clean(reason)), Role::Muted));
        }

        // What the gateway's Verify() would say of the client chain.
        let mut l = vec![label("Verify()")];
        match &t.client_verify {
            Some(cv) => {
                l.extend(self.verdict_spans(&cv.verdict));
                paras.push((Line::from(l), COLUMN));
                paras.push(more(format!("against {}", clean(&file_names(&cv.uploaded))), Role::Muted));
            }
            None => {
                l.push(none("– no uploaded CA certificates given"));
                paras.push((Line::from(l), COLUMN));
            }
        }

        // The policy's verdict.
        let mut l = vec![label("Policy")];
        match &t.policy {
            Some(pe) => {
                let o = &pe.outcome;
                if !o.determined {
                    l.push(Span::styled("? not determined", self.s(Role::Warning)));
                } else if o.status >= 400 {
                    l.push(Span::styled(format!("✖ {}", o.status), self.s(Role::Error)));
                } else {
                    l.push(Span::styled(format!("✔ {} passes", o.status), self.s(Role::Ok)));
                }
                let source = file_names(std::slice::from_ref(&pe.source));
                l.push(Span::styled(format!("  {}", clean(&source)), self.s(Role::Muted)));
                paras.push((Line::from(l), COLUMN));
                if let Some(by) = &o.decided_by {
                    paras.push(more(format!("by {}", clean(by)), Role::Text));
                }
                let cert = match &pe.certificate {
                    // The full thumbprint is in the Certificates pane; this only says which one.
                    Some(tp) => format!("certificate {}…", tp.get(..12).unwrap_or(tp)),
                    None => "no certificate (null)".into(),
                };
                paras.push(more(format!("evaluated with {cert}"), Role::Muted));
            }
            None => {
                l.push(none("– no policy given"));
                paras.push((Line::from(l), COLUMN));
            }
        }

        // With and without the client certificate, side by side.
        if let Some(p) = &t.probe {
            paras.push((Line::raw(""), 0));
            match &p.compare_without_cert {
                Some(w) => {
                    let col_w = ((inner.width as usize).saturating_sub(COLUMN) / 2).max(8);
                    let cell = |ok: bool, text: String| {
                        let text: String = text.chars().take(col_w.saturating_sub(1)).collect();
                        Span::styled(format!("{text:<col_w$}"), if ok { self.s(Role::Ok) } else { self.s(Role::Error) })
                    };
                    paras.push((
                        Line::from(vec![
                            Span::raw(format!("{:COLUMN$}", "")),
                            Span::styled(format!("{:<col_w$}", "with cert"), self.s(Role::Title)),
                            Span::styled("without cert", self.s(Role::Title)),
                        ]),
                        COLUMN,
                    ));
                    let rows: [(&str, CompareCell); 3] = [
                        ("TLS", |r| {
                            if r.handshake.ok {
                                (true, "✔ handshake ok".to_string())
                            } else {
                                let why = r.handshake.alert.clone().unwrap_or_else(|| "failed".into());
                                (false, format!("✖ {}", clean(&why)))
                            }
                        }),
                        ("Client", |r| {
                            let text = if r.client_cert_sent { "cert sent" } else { "no cert sent" };
                            (r.client_cert_sent, text.to_string())
                        }),
                        ("HTTP", |r| match &r.http {
                            Some(h) => (h.status < 400, format!("{} {}", if h.status < 400 { "✔" } else { "✖" }, h.status)),
                            None => (false, "✖ no response".into()),
                        }),
                    ];
                    for (name, f) in rows {
                        let (a_ok, a) = f(p);
                        let (b_ok, b) = f(w);
                        paras.push((Line::from(vec![label(name), cell(a_ok, a), cell(b_ok, b)]), COLUMN));
                    }
                }
                None => paras.push((
                    Line::styled(
                        "No with/without-certificate comparison (it needs a configured certificate the server asked for).",
                        self.s(Role::Muted),
                    ),
                    0,
                )),
            }
        }
        let lines = wrap_paras(paras, inner.width as usize);
        Paragraph::new(lines).scroll((self.app.verdicts_scroll, 0)).render(inner, buf);
    }

    fn chains(&self, area: Rect, buf: &mut Buffer) {
        let block = self.block(Pane::Chains, "Certificates · Enter details · y copies thumbprint".into());
        let inner = block.inner(area);
        block.render(area, buf);
        let (server, client) = self.app.chains();
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        let client_title = match self.app.target().and_then(|t| t.probe.as_ref()) {
            Some(p) if p.client_cert_sent => "Client chain (sent)",
            Some(p) if !p.client_chain.is_empty() => "Client chain (configured, NOT sent)",
            _ => "Client chain",
        };
        self.chain_column(left, "Server chain (as received)", &server, Side::Server, buf);
        self.chain_column(right, client_title, &client, Side::Client, buf);
    }

    fn chain_column(&self, area: Rect, title: &str, chain: &[&CertInfo], side: Side, buf: &mut Buffer) {
        let mut lines = vec![Line::styled(title.to_string(), self.s(Role::Accent))];
        if chain.is_empty() {
            lines.push(Line::styled("(none)", self.s(Role::Muted)));
        }
        let focused = self.app.focus == Pane::Chains && self.app.chain_side == side;
        // One blank column keeps the two chains apart.
        let width = (area.width as usize).saturating_sub(1);
        let per = 4usize;
        let room = (area.height as usize).saturating_sub(1) / per;
        let offset = if focused && room > 0 { self.app.chain_index.saturating_sub(room - 1) } else { 0 };
        for (i, c) in chain.iter().enumerate().skip(offset) {
            let selected = focused && i == self.app.chain_index;
            let marker = if selected { "▶" } else { " " };
            let mut head = Line::from(vec![
                Span::raw(format!("{marker}[{i}] ")),
                Span::styled(
                    fit(&clean(&c.subject), width.saturating_sub(5)),
                    self.s(Role::Text).add_modifier(Modifier::BOLD),
                ),
            ]);
            if selected {
                head = head.patch_style(self.s(Role::Selection));
            }
            lines.push(head);
            lines.push(Line::from(vec![
                Span::styled("     issuer ", self.s(Role::Muted)),
                Span::styled(fit(&clean(&c.issuer), width.saturating_sub(12)), self.s(Role::Text)),
            ]));
            let validity_style = if c.days_left < 0 {
                self.s(Role::Error)
            } else if c.days_left < crate::diagnose::DEFAULT_EXPIRING_DAYS {
                self.s(Role::Warning)
            } else {
                self.s(Role::Text)
            };
            lines.push(Line::from(vec![
                Span::styled("     valid  ", self.s(Role::Muted)),
                Span::styled(
                    format!("{} → {} ({})", date(&c.not_before), date(&c.not_after), days_text(c)),
                    validity_style,
                ),
            ]));
            lines.push(Line::from(vec![
                Span::styled("     sha1   ", self.s(Role::Muted)),
                Span::styled(c.thumbprint_sha1.clone(), self.s(Role::Code)),
            ]));
        }
        Paragraph::new(lines).render(area, buf);
    }

    fn findings(&self, area: Rect, target: Option<&TargetRun>, buf: &mut Buffer) {
        let n = target.map(|t| t.findings.len()).unwrap_or(0);
        let title = if n == 0 {
            "Findings".to_string()
        } else {
            format!("Findings ({n}) · {}/{n} · most likely first · y copies snippet", self.app.findings_index + 1)
        };
        let block = self.block(Pane::Findings, title);
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(t) = target else { return };
        let mut paras = Vec::new();
        if t.findings.is_empty() {
            if t.probe.is_some() || t.inspected.is_some() {
                paras.extend(self.not_run_lines(t));
                paras.push((Line::styled("✔ No problems found for this target.", self.s(Role::Ok)), 2));
            } else {
                paras.extend(self.not_run_lines(t));
            }
        }
        for (i, f) in t.findings.iter().enumerate().skip(self.app.findings_index) {
            let selected = i == self.app.findings_index && self.app.focus == Pane::Findings;
            paras.extend(self.finding_lines(f, selected));
            paras.push((Line::raw(""), 0));
        }
        let lines = wrap_paras(paras, inner.width as usize);
        Paragraph::new(lines).scroll((self.app.findings_scroll, 0)).render(inner, buf);
    }

    fn finding_lines(&self, f: &Finding, selected: bool) -> Vec<Para> {
        const COLUMN: usize = 11;
        let sev = match f.severity {
            Severity::Error => self.s(Role::Error),
            Severity::Warning => self.s(Role::Warning),
            Severity::Info => self.s(Role::Info),
        };
        let mut head = Line::from(vec![
            Span::styled(severity_badge(f.severity), sev),
            Span::styled(format!(" [{}] ", f.symptom.as_str()), self.s(Role::Muted)),
            Span::styled(clean(&f.title), self.s(Role::Title)),
            Span::styled(format!("  {}", clean(f.id.as_str())), self.s(Role::Muted)),
        ]);
        if selected {
            head = head.patch_style(self.s(Role::Selection));
        }
        let mut lines = vec![(head, 8)];
        let label = |s: &str| Span::styled(format!("  {s:<9}"), self.s(Role::Accent));
        lines.push((Line::from(vec![label("Cause"), Span::styled(clean(&f.cause), self.s(Role::Text))]), COLUMN));
        for (i, e) in f.evidence.iter().enumerate() {
            let l = if i == 0 { label("Evidence") } else { label("") };
            lines.push((Line::from(vec![l, Span::styled(format!("• {}", clean(e)), self.s(Role::Text))]), COLUMN + 2));
        }
        for (i, step) in f.fix.iter().enumerate() {
            let l = if i == 0 { label("Fix") } else { label("") };
            let text = format!("{}. {}", i + 1, clean(step));
            lines.push((Line::from(vec![l, Span::styled(text, self.s(Role::Text))]), COLUMN + 3));
        }
        if let Some(snippet) = &f.snippet {
            lines
                .push((Line::from(vec![label("Snippet"), Span::styled("(y copies it)", self.s(Role::Muted))]), COLUMN));
            for l in snippet.lines() {
                lines.push((Line::from(vec![Span::raw("    "), Span::styled(clean(l), self.s(Role::Code))]), 6));
            }
        }
        if !f.related.is_empty() {
            let related = format!("see also {}", clean(&crate::diagnose::join_ids(&f.related)));
            lines.push((Line::from(vec![label("Related"), Span::styled(related, self.s(Role::Muted))]), COLUMN));
        }
        lines.push((Line::from(vec![label("Guide"), Span::styled(clean(&f.guide), self.s(Role::Muted))]), COLUMN));
        lines
    }

    fn footer(&self, area: Rect, buf: &mut Buffer) {
        let [status_area, keys_area] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
        let status = match &self.app.status {
            Some(s) => {
                let style = match s.kind {
                    StatusKind::Info => self.s(Role::Info),
                    StatusKind::Ok => self.s(Role::Ok),
                    StatusKind::Error => self.s(Role::Error),
                };
                let mark = match s.kind {
                    StatusKind::Info => "ℹ",
                    StatusKind::Ok => "✔",
                    StatusKind::Error => "✖",
                };
                Line::styled(format!(" {mark} {}", s.text), style)
            }
            None => Line::styled(format!(" {}", self.hint()), self.s(Role::Muted)),
        };
        Paragraph::new(status).render(status_area, buf);
        let keys: &[(&str, &str)] = match &self.app.overlay {
            Overlay::None => &[
                ("r", "run"),
                ("R", "run all"),
                ("c", "cancel"),
                ("e", "edit"),
                ("Tab", "pane"),
                ("y", "copy"),
                ("s", "save"),
                ("a", "add"),
                ("d", "dup"),
                ("x", "del"),
                ("o", "open"),
                ("?", "help"),
                ("q", "quit"),
            ],
            Overlay::Help { .. } => &[("↑↓", "scroll"), ("Esc", "close")],
            Overlay::Detail { .. } => &[
                ("t", "thumbprint"),
                ("s", "subject"),
                ("i", "issuer"),
                ("2", "SHA-256"),
                ("n", "serial"),
                ("p", "PEM"),
                ("↑↓", "scroll"),
                ("Esc", "close"),
            ],
            Overlay::Form(_) => &[("Enter", "save"), ("Tab ↑↓", "field"), ("Space ←→", "role"), ("Esc", "cancel")],
            Overlay::Password { .. } | Overlay::Path { .. } => &[("Enter", "ok"), ("Esc", "cancel")],
            Overlay::ConfirmDelete { .. } => &[("y", "delete"), ("any key", "keep")],
        };
        // The last two keys (help and the way out) always show; the others as room allows.
        let width_of = |(k, label): &(&str, &str)| k.chars().count() + label.chars().count() + 3;
        let pinned = keys.len().saturating_sub(2);
        let reserved: usize = keys[pinned..].iter().map(width_of).sum();
        let mut spans = vec![Span::raw(" ")];
        let mut used = 1 + reserved;
        for (i, item) in keys.iter().enumerate() {
            let w = width_of(item);
            if i < pinned {
                if used + w > area.width as usize {
                    continue;
                }
                used += w;
            }
            spans.push(Span::styled(format!(" {} ", item.0), self.s(Role::Key)));
            spans.push(Span::styled(format!("{} ", item.1), self.s(Role::Muted)));
        }
        Paragraph::new(Line::from(spans)).render(keys_area, buf);
    }

    fn hint(&self) -> &'static str {
        match self.app.focus {
            Pane::Targets => "↑↓ choose a target · Enter shows its findings · Tab moves between panes",
            Pane::Timeline => "↑↓ scroll the handshake · the first ✖ step is where it fails",
            Pane::Chains => "←→ server/client chain · ↑↓ certificate · Enter all fields · y copies the thumbprint",
            Pane::Verdicts => "↑↓ scroll · our server check, the gateway's Verify() and the policy, side by side",
            Pane::Findings => "↑↓ next finding · PgUp/PgDn scroll · y copies the snippet (or the fix steps)",
        }
    }

    // ----- overlays ------------------------------------------------------------------------------

    fn popup(&self, area: Rect, width: u16, height: u16, title: &str, buf: &mut Buffer) -> Rect {
        // The footer stays visible: it carries the keys and the copy confirmation.
        let area = Rect { height: area.height.saturating_sub(2), ..area };
        let w = width.min(area.width.saturating_sub(2)).max(area.width.min(20));
        let h = height.min(area.height).max(area.height.min(5));
        let rect = Rect {
            x: area.x + (area.width.saturating_sub(w)) / 2,
            y: area.y + (area.height.saturating_sub(h)) / 2,
            width: w.min(area.width),
            height: h.min(area.height),
        };
        Clear.render(rect, buf);
        buf.set_style(rect, self.s(Role::Background));
        let block = Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Double)
            .border_style(self.s(Role::Focus))
            .title(Span::styled(format!(" {title} "), self.s(Role::Focus)));
        let inner = block.inner(rect);
        block.render(rect, buf);
        inner
    }

    fn help(&self, area: Rect, scroll: u16, buf: &mut Buffer) {
        let inner = self.popup(area, 78, 40, "Help", buf);
        let sections: &[(&str, &[(&str, &str)])] = &[
            (
                "Probes",
                &[
                    ("r", "run the selected target (in the background)"),
                    ("R", "run every target"),
                    ("c / C", "cancel the selected run / every run"),
                ],
            ),
            (
                "Targets",
                &[
                    ("e", "edit the selected target (host, SNI, certificates, policy …)"),
                    ("a / d", "add a target / duplicate the selected one"),
                    ("x / Del", "delete the selected target (asks first)"),
                    ("s / S", "save the session / save it under another name"),
                    ("o", "open a saved session"),
                ],
            ),
            (
                "Moving",
                &[
                    ("Tab / S-Tab", "next / previous pane (1-5 jump to one)"),
                    ("↑↓ j k", "select or scroll in the pane"),
                    ("PgUp PgDn g G", "page / first / last"),
                    ("←→ h l", "server or client chain (Certificates pane)"),
                    ("Enter", "certificate details (Certificates) · findings (Targets)"),
                    ("mouse", "click a pane or a target, wheel to scroll"),
                ],
            ),
            (
                "Copying (OSC 52: works over SSH and in tmux with set-clipboard on)",
                &[
                    ("y", "thumbprint (Certificates) · policy snippet (Findings)"),
                    ("t s i n p 2", "in details: thumbprint, subject, issuer, serial, PEM, SHA-256"),
                ],
            ),
            ("Leaving", &[("q", "quit (asks again with unsaved changes)"), ("Ctrl-C", "quit at once")]),
        ];
        let mut lines = vec![Line::styled(
            "Badges: ✔ ok  ⚠ warning  ✖ error  ◐ running  · not run. The first ✖ step in the handshake is where it fails.",
            self.s(Role::Text),
        )];
        for (title, keys) in sections {
            lines.push(Line::raw(""));
            lines.push(Line::styled(title.to_string(), self.s(Role::Accent)));
            for (k, what) in *keys {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {k:<14}"), self.s(Role::Title)),
                    Span::styled(what.to_string(), self.s(Role::Text)),
                ]));
            }
        }
        let lines = wrap_paras(lines.into_iter().map(|l| (l, 16)).collect(), inner.width as usize);
        Paragraph::new(lines).scroll((scroll, 0)).render(inner, buf);
    }

    fn detail(&self, area: Rect, side: Side, index: usize, scroll: u16, buf: &mut Buffer) {
        let Some(c) = self.app.cert(side, index) else { return };
        let which = match side {
            Side::Server => "server chain",
            Side::Client => "client chain",
        };
        let inner = self.popup(area, 120, 44, &format!("Certificate [{index}] of the {which}"), buf);
        let field = |label: &str, value: String| {
            Line::from(vec![
                Span::styled(format!("{label:<15}"), self.s(Role::Accent)),
                Span::styled(clean(&value), self.s(Role::Text)),
            ])
        };
        let mut lines = vec![
            field("Subject", c.subject.clone()),
            field("  RFC 4514", c.subject_rfc4514.clone()),
            field("Issuer", c.issuer.clone()),
            field("  RFC 4514", c.issuer_rfc4514.clone()),
            Line::from(vec![
                Span::styled(format!("{:<15}", "Thumbprint"), self.s(Role::Accent)),
                Span::styled(c.thumbprint_sha1.clone(), self.s(Role::Code)),
                Span::styled("  SHA-1, as APIM's Thumbprint shows it", self.s(Role::Muted)),
            ]),
            field("SHA-256", c.thumbprint_sha256.clone()),
            field("Serial", c.serial.clone()),
            field("Not before", c.not_before.clone()),
            Line::from(vec![
                Span::styled(format!("{:<15}", "Not after"), self.s(Role::Accent)),
                Span::styled(clean(&c.not_after), self.s(Role::Text)),
                Span::styled(
                    format!("  ({})", days_text(c)),
                    if c.days_left < 0 { self.s(Role::Error) } else { self.s(Role::Muted) },
                ),
            ]),
            field("SANs", if c.sans.is_empty() { "(none)".into() } else { c.sans.join(", ") }),
        ];
        let key = match (&c.key.curve, c.key.bits) {
            (Some(curve), _) => format!("{} {curve}", c.key.algorithm),
            (None, Some(bits)) => format!("{} {bits} bits", c.key.algorithm),
            _ => c.key.algorithm.clone(),
        };
        lines.push(field("Key", key));
        lines.push(field("Signature", c.signature_algorithm.clone()));
        lines.push(field(
            "Key usage",
            if c.key_usage.is_empty() { "(extension absent)".into() } else { c.key_usage.join(", ") },
        ));
        lines.push(field(
            "Extended usage",
            match &c.eku {
                Some(v) => v.join(", "),
                None => "(extension absent: any usage)".into(),
            },
        ));
        let mut kind = if c.is_ca { "CA".to_string() } else { "end entity".to_string() };
        if let Some(p) = c.path_len {
            kind.push_str(&format!(", path length {p}"));
        }
        if c.self_signed {
            kind.push_str(", self-signed");
        }
        lines.push(field("Type", kind));
        lines.push(field("SKI", c.ski.clone().unwrap_or_else(|| "(none)".into())));
        lines.push(field("AKI", c.aki.clone().unwrap_or_else(|| "(none)".into())));
        lines.push(Line::raw(""));
        lines.push(Line::styled("PEM", self.s(Role::Accent)));
        for l in c.pem.lines() {
            lines.push(Line::styled(clean(l), self.s(Role::Code)));
        }
        let lines = wrap_paras(lines.into_iter().map(|l| (l, 15)).collect(), inner.width as usize);
        Paragraph::new(lines).scroll((scroll, 0)).render(inner, buf);
    }

    fn form(&self, area: Rect, form: &TargetForm, buf: &mut Buffer) {
        let title = match form.target {
            super::form::FormTarget::New => "Add target".to_string(),
            super::form::FormTarget::Existing(_) => format!("Edit {}", clean(&form.base.name)),
        };
        let rows = form.fields.len() as u16 + 4;
        let inner = self.popup(area, 100, rows + 2, &title, buf);
        let label_w = 14usize;
        let value_w = (inner.width as usize).saturating_sub(label_w + 3).max(1);
        // Keep the focused field visible when the screen is shorter than the form.
        let field_rows = (inner.height as usize).saturating_sub(2).max(1);
        let offset = form.focus.saturating_sub(field_rows - 1);
        let mut lines = Vec::new();
        for (i, f) in form.fields.iter().enumerate().skip(offset).take(field_rows) {
            let focused = i == form.focus;
            let chars: Vec<char> = f.value.chars().collect();
            let start = if focused { f.cursor.saturating_sub(value_w.saturating_sub(1)) } else { 0 };
            let shown: String = chars.iter().skip(start).take(value_w).collect();
            let mut value_spans = vec![];
            if focused {
                let at = f.cursor - start;
                let before: String = shown.chars().take(at).collect();
                let under: String = shown.chars().nth(at).map(String::from).unwrap_or_else(|| " ".into());
                let after: String = shown.chars().skip(at + 1).collect();
                value_spans.push(Span::styled(clean(&before), self.s(Role::Text)));
                value_spans.push(Span::styled(clean(&under), self.s(Role::Selection)));
                value_spans.push(Span::styled(clean(&after), self.s(Role::Text)));
            } else if f.value.is_empty() {
                value_spans.push(Span::styled("–", self.s(Role::Muted)));
            } else {
                value_spans.push(Span::styled(clean(&shown), self.s(Role::Text)));
            }
            let label_style = if focused { self.s(Role::Focus) } else { self.s(Role::Muted) };
            let marker = if focused { "▶" } else { " " };
            let mut spans = vec![Span::styled(format!("{marker}{:<w$} ", f.key.label(), w = label_w), label_style)];
            spans.extend(value_spans);
            lines.push(Line::from(spans));
        }
        if (inner.height as usize) > form.fields.len() + 2 {
            lines.push(Line::raw(""));
        }
        match &form.error {
            Some(e) => lines.push(Line::styled(format!("✖ {}", clean(e)), self.s(Role::Error))),
            None => {
                let hint = form.focused().map(|f| f.key.hint()).unwrap_or("");
                lines.push(Line::styled(format!("ℹ {hint}"), self.s(Role::Muted)));
            }
        }
        let role = form.value(FieldKey::Role);
        lines.push(Line::styled(
            format!("Role {role}: Enter saves (then r runs) · Esc cancels · Ctrl-U clears a field"),
            self.s(Role::Muted),
        ));
        Paragraph::new(lines).render(inner, buf);
    }

    fn password(&self, area: Rect, file: &str, buf: &mut Buffer) {
        let inner = self.popup(area, 70, 7, "PFX password", buf);
        let lines = vec![
            Line::styled(format!("Password for {}", clean(file)), self.s(Role::Text)),
            Line::styled("(typing is hidden; kept in memory for this run only, never saved)", self.s(Role::Muted)),
            Line::raw(""),
            Line::styled("Enter runs the probe · Esc skips this target", self.s(Role::Muted)),
        ];
        Paragraph::new(lines).wrap(Wrap { trim: false }).render(inner, buf);
    }

    fn path_prompt(&self, area: Rect, purpose: PathPurpose, input: &str, buf: &mut Buffer) {
        let title = match purpose {
            PathPurpose::Save => "Save session",
            PathPurpose::Open => "Open session",
        };
        let inner = self.popup(area, 80, 6, title, buf);
        let what = match purpose {
            PathPurpose::Save => "Write the session (no keys, no passwords, secret headers redacted) to:",
            PathPurpose::Open => "Session file to open (runs in flight are cancelled):",
        };
        let w = inner.width.saturating_sub(1) as usize;
        let chars: Vec<char> = input.chars().collect();
        let shown: String = chars.iter().skip(chars.len().saturating_sub(w)).collect();
        let lines = vec![
            Line::styled(what, self.s(Role::Text)),
            Line::from(vec![
                Span::styled(clean(&shown), self.s(Role::Text)),
                Span::styled(" ", self.s(Role::Selection)),
            ]),
        ];
        Paragraph::new(lines).render(inner, buf);
    }

    fn confirm_delete(&self, area: Rect, id: u64, buf: &mut Buffer) {
        let name = (0..self.app.session.targets.len())
            .find(|i| self.app.id_at(*i) == Some(id))
            .and_then(|i| self.app.session.targets.get(i))
            .map(|t| clean(&t.name))
            .unwrap_or_default();
        let inner = self.popup(area, 60, 5, "Delete target", buf);
        Paragraph::new(vec![
            Line::styled(format!("Delete {name}?"), self.s(Role::Warning)),
            Line::styled("y deletes it · any other key keeps it", self.s(Role::Muted)),
        ])
        .wrap(Wrap { trim: false })
        .render(inner, buf);
    }
}

/// The buffer as plain text, one line per row, trailing blanks trimmed (for tests and logs).
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            if let Some(cell) = buf.cell(Position::new(x, y)) {
                line.push_str(cell.symbol());
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Render a view into a fresh buffer of `width` x `height`.
pub fn render_to_buffer(app: &App, theme: &Theme, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    (&View::new(app, theme)).render(area, &mut buf);
    buf
}

/// Text of a rendered view (convenience for snapshot tests).
pub fn render_text(app: &App, theme: &Theme, width: u16, height: u16) -> String {
    buffer_text(&render_to_buffer(app, theme, width, height))
}
