//! Where each pane goes on a screen of a given size. Shared by `app` (mouse hit-testing) and
//! `view` (drawing), so both always agree on what is where.

use ratatui::layout::{Constraint, Layout, Position, Rect};

use super::body::{self, TimelineView};
use super::theme::Theme;
use super::wrap::wrap_paras;
use crate::session::TargetRun;

/// Below this the screen shows one detail pane at a time, chosen with Tab or the tab bar.
pub const WIDE_MIN: (u16, u16) = (120, 32);

/// The panes that can hold the keyboard, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Targets,
    Timeline,
    Verdicts,
    Chains,
    Findings,
}

impl Pane {
    /// In screen order (the wide layout read left to right, top to bottom; the narrow layout's
    /// list then its tabs): a pane's number, shown in its title and tab, is its place here, and
    /// the number keys follow it.
    pub const ALL: [Pane; 5] = [Pane::Targets, Pane::Timeline, Pane::Verdicts, Pane::Chains, Pane::Findings];

    /// The number shown on the pane and the key that focuses it (1 to 5).
    pub fn number(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) + 1
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Targets => "Targets",
            Pane::Timeline => "Handshake",
            Pane::Chains => "Certificates",
            Pane::Verdicts => "Verdicts",
            Pane::Findings => "Findings",
        }
    }

    pub(super) fn offset(self, by: isize) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) as isize;
        let n = Pane::ALL.len() as isize;
        Pane::ALL[((i + by).rem_euclid(n)) as usize]
    }
}

/// The detail panes of the narrow layout's tab bar, in order (their numbers: 2 to 5).
pub const TAB_PANES: [Pane; 4] = [Pane::Timeline, Pane::Verdicts, Pane::Chains, Pane::Findings];

/// The label of a tab: the pane's number (the key that jumps to it) and its title.
pub fn tab_label(pane: Pane) -> String {
    format!(" {} {} ", pane.number(), pane.title())
}

/// Columns of a targets-list row before the name: marker, badge and role (`▶✔ ok   in   `).
pub const TARGET_ROW_PREFIX: usize = 13;

/// What the layout depends on: a few facts of the app's state, so this module needs no `App`.
#[derive(Debug, Clone, Copy)]
pub struct Screen<'a> {
    /// Rows of the targets list (the targets the filter leaves, at least one line).
    pub targets: usize,
    /// Width of the longest target name, so the wide list can make room for it.
    pub longest_name: usize,
    pub focus: Pane,
    /// The detail pane shown under the targets list on a small screen while the list has focus.
    pub narrow_pane: Pane,
    /// The selected target, whose timeline the wide layout makes room for.
    pub selected: Option<&'a TargetRun>,
    /// How the selected target's Handshake pane is drawn (running, read-only, body expanded).
    pub timeline: TimelineView,
}

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

/// Styles do not change how text wraps: layout measures with this theme.
pub(super) fn plain_theme() -> &'static Theme {
    static PLAIN: std::sync::OnceLock<Theme> = std::sync::OnceLock::new();
    PLAIN.get_or_init(|| Theme::builtin_default().monochrome())
}

/// The layout for `size`: everything at once when there is room, else the targets list, a tab
/// bar and one detail pane.
pub fn areas(size: Rect, screen: &Screen<'_>) -> Areas {
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(2)]).areas(size);
    let mut a = Areas { header, footer, ..Default::default() };
    if size.width >= WIDE_MIN.0 && size.height >= WIDE_MIN.1 {
        a.wide = true;
        // Wide enough for the longest name (and the borders), up to two fifths of the screen and
        // leaving the other panes the 110 columns they need not to cut their own lines.
        let wanted = (screen.longest_name + TARGET_ROW_PREFIX + 2).min(u16::MAX as usize) as u16;
        let list_w = wanted.clamp(30, (size.width * 2 / 5).min(size.width.saturating_sub(110)).max(30));
        let [left, right] = Layout::horizontal([Constraint::Length(list_w), Constraint::Min(0)]).areas(body);
        a.targets = left;
        // The timeline gets the rows it needs (within bounds) so the failing step is on screen.
        // Verdicts: two fifths, and never so narrow that its with/without table cuts its words.
        let verdicts_w = (right.width * 2 / 5).max(44).min(right.width / 2);
        let split = [Constraint::Min(0), Constraint::Length(verdicts_w)];
        let [timeline_w, _] = Layout::horizontal(split).areas(right);
        let needed = screen
            .selected
            .map(|t| {
                let paras = body::timeline_paras(t, screen.timeline, plain_theme());
                wrap_paras(paras, timeline_w.width.saturating_sub(2) as usize).len()
            })
            .unwrap_or(0) as u16;
        let top_h = (needed + 2).clamp(12, body.height.saturating_sub(11 + 8).max(12));
        let [top, middle, bottom] =
            Layout::vertical([Constraint::Length(top_h), Constraint::Length(11), Constraint::Min(6)]).areas(right);
        let [timeline, verdicts] = Layout::horizontal(split).areas(top);
        a.timeline = timeline;
        a.verdicts = verdicts;
        a.chains = middle;
        a.findings = bottom;
        return a;
    }
    let n = screen.targets as u16;
    let list_h = (n + 2).clamp(3, if body.height >= 18 { 7 } else { 4 });
    let [list, tabs, detail] =
        Layout::vertical([Constraint::Length(list_h), Constraint::Length(1), Constraint::Min(0)]).areas(body);
    a.targets = list;
    a.tabs = Some(tabs);
    let mut x = tabs.x + 1;
    for pane in TAB_PANES.iter() {
        let w = tab_label(*pane).chars().count() as u16;
        a.tab_ranges.push((x, x + w, *pane));
        x += w + 1;
    }
    match shown_detail(screen.focus, screen.narrow_pane) {
        Pane::Timeline | Pane::Targets => a.timeline = detail,
        Pane::Chains => a.chains = detail,
        Pane::Verdicts => a.verdicts = detail,
        Pane::Findings => a.findings = detail,
    }
    a
}

/// The detail pane the narrow layout shows: the focused one, or the last one while the list has
/// the focus.
pub fn shown_detail(focus: Pane, narrow_pane: Pane) -> Pane {
    if focus == Pane::Targets {
        narrow_pane
    } else {
        focus
    }
}
