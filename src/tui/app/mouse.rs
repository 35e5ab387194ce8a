//! Mouse input: clicks focus panes and select targets, the wheel scrolls.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;

use super::{App, Effect, Overlay, Pane, Side};
use crate::tui::layout::target_list_offset;

impl App {
    pub fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if !matches!(self.overlay, Overlay::None) {
            // Overlays take the wheel for scrolling; clicks outside do nothing.
            match (&mut self.overlay, m.kind) {
                (Overlay::Help { scroll } | Overlay::Detail { scroll, .. }, MouseEventKind::ScrollDown) => {
                    *scroll = scroll.saturating_add(3)
                }
                (Overlay::Help { scroll } | Overlay::Detail { scroll, .. }, MouseEventKind::ScrollUp) => {
                    *scroll = scroll.saturating_sub(3)
                }
                _ => {}
            }
            return vec![];
        }
        let at = Position::new(m.column, m.row);
        let a = self.layout();
        if let (Some(tabs), MouseEventKind::Down(MouseButton::Left)) = (a.tabs, m.kind) {
            if tabs.contains(at) {
                if let Some(pane) = a.tab_at(m.column) {
                    self.focus_pane(pane);
                }
                return vec![];
            }
        }
        let Some(pane) = a.pane_at(at) else { return vec![] };
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let by = if m.kind == MouseEventKind::ScrollDown { 1 } else { -1 };
                let before = self.focus;
                self.focus = pane;
                if pane == Pane::Targets || pane == Pane::Chains || pane == Pane::Findings {
                    self.move_in_pane(by);
                } else {
                    self.scroll_pane(by * 3);
                }
                self.focus = before;
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus_pane(pane);
                if pane == Pane::Targets {
                    let inner_top = a.targets.y + 1;
                    if m.row >= inner_top {
                        let rows = a.targets.height.saturating_sub(2) as usize;
                        let shown = self.visible_targets();
                        let at = shown.iter().position(|i| *i == self.selected).unwrap_or(0);
                        let row = (m.row - inner_top) as usize + target_list_offset(at, rows);
                        if let Some(i) = shown.get(row) {
                            self.select(*i);
                        }
                    }
                } else if pane == Pane::Chains {
                    // Left half is the server chain, right half the client chain.
                    let mid = a.chains.x + a.chains.width / 2;
                    self.switch_side(if m.column < mid { Side::Server } else { Side::Client });
                }
            }
            _ => {}
        }
        vec![]
    }
}
