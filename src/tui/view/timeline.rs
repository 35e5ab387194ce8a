//! The Handshake pane: the probe's steps as `tui::timeline` lays them out.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::session::TargetRun;
use crate::text::clean;
use crate::tui::body;
use crate::tui::layout::Pane;
use crate::tui::timeline::ms_text;
use crate::tui::wrap::wrap_paras;

impl View<'_> {
    pub(super) fn timeline(&self, area: Rect, target: Option<&TargetRun>, buf: &mut Buffer) {
        let Some(t) = target else {
            self.block(Pane::Timeline, "Handshake".into()).render(area, buf);
            return;
        };
        let total = t.probe.as_ref().and_then(|p| p.timings_ms.total);
        let title = match total {
            Some(ms) => format!("Handshake · {} · {}", clean(&t.name), ms_text(Some(ms))),
            None => format!("Handshake · {}", clean(&t.name)),
        };
        let title = if body::has_more(t) { format!("{title} · b body") } else { title };
        let block = self.block(Pane::Timeline, title);
        let inner = block.inner(area);
        block.render(area, buf);
        let lines = wrap_paras(body::timeline_paras(t, self.app.screen().timeline, self.theme), inner.width as usize);
        Paragraph::new(lines).scroll((self.app.timeline_scroll, 0)).render(inner, buf);
    }
}
