#!/usr/bin/env bash
# Regenerate screenshots/ from the real TUI views on the demo lab (no terminal needed):
#   scripts/screenshots.sh          SVG files (what the README embeds)
#   scripts/screenshots.sh --png    also PNG copies (needs rsvg-convert from librsvg2-bin)
# The test `tui::screenshots_render_real_views_as_svg` starts the demo lab, runs every target,
# renders each view into a ratatui buffer and writes it as SVG with the theme's colours.
set -euo pipefail
cd "$(dirname "$0")/.."

MTLS_DOCTOR_SCREENSHOTS=1 cargo test --locked --test integration tui::screenshots_render_real_views_as_svg -- --exact

if [ "${1:-}" = "--png" ]; then
  command -v rsvg-convert >/dev/null 2>&1 || { echo "rsvg-convert not found: apt-get install -y librsvg2-bin" >&2; exit 1; }
  for svg in screenshots/*.svg; do
    rsvg-convert "$svg" -o "${svg%.svg}.png"
  done
fi
ls -l screenshots/
