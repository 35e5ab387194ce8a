//! Rendering: a pure function from [`App`] state and a [`Theme`] to a buffer, so every screen can be
//! drawn into `TestBackend`. Every string that comes from data goes through `text::clean` first:
//! a certificate subject or a server's body must never drive the terminal.
//!
//! One file per pane or overlay; this one holds the [`View`], the shared frame (pane blocks,
//! popups) and the helpers that draw into a plain buffer for tests.

mod chains;
mod detail;
mod findings;
mod footer;
mod form;
mod header;
mod help;
mod prompts;
mod targets;
mod timeline;
mod verdicts;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Borders, Clear, Widget};

use super::app::{App, Overlay};
use super::layout::{areas, Pane};
use super::theme::{Role, Theme};
use crate::cert::CertInfo;

/// The whole screen: `impl Widget for &View` renders the app as it is.
pub struct View<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl<'a> View<'a> {
    pub fn new(app: &'a App, theme: &'a Theme) -> Self {
        View { app, theme }
    }

    pub(super) fn s(&self, role: Role) -> Style {
        self.theme.style(role)
    }

    pub(super) fn block(&self, pane: Pane, title: String) -> Block<'static> {
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
            // The pane's number is the key that focuses it, in every layout.
            .title(Span::styled(format!(" {} {title} ", pane.number()), title_style))
    }
}

impl Widget for &View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        buf.set_style(area, self.s(Role::Background));
        let a = areas(area, &self.app.screen());
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
            // The prompt is the footer's status line: the filtered panes stay in view.
            Overlay::Filter => {}
        }
    }
}

pub(super) fn days_text(c: &CertInfo) -> String {
    if c.days_left < 0 {
        format!("EXPIRED {} day(s) ago", -c.days_left)
    } else {
        format!("{} day(s) left", c.days_left)
    }
}

impl View<'_> {
    pub(super) fn popup(&self, area: Rect, width: u16, height: u16, title: &str, buf: &mut Buffer) -> Rect {
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
