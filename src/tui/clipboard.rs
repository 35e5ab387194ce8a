//! Copy to the clipboard with OSC 52, which the terminal (or tmux, or the SSH client's terminal)
//! carries out: it works over SSH where no local clipboard tool exists.

use base64::Engine as _;

/// Terminals commonly cap OSC 52 payloads around 100 KB; a certificate PEM is far below this.
pub const MAX_COPY_BYTES: usize = 64 * 1024;

/// The escape sequence that puts `text` on the system clipboard. The text is base64 encoded, so
/// whatever it holds cannot act as a terminal control sequence.
pub fn osc52(text: &str) -> Option<String> {
    if text.len() > MAX_COPY_BYTES {
        return None;
    }
    let payload = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    // BEL terminator: understood by xterm, tmux, iTerm2, Windows Terminal, kitty and others.
    Some(format!("\x1b]52;c;{payload}\x07"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_base64_and_cannot_carry_escapes() {
        let s = osc52("A\x1b[31mB").expect("small");
        assert_eq!(s, "\x1b]52;c;QRtbMzFtQg==\x07");
        assert_eq!(s.matches('\x1b').count(), 1);
        assert!(osc52(&"x".repeat(MAX_COPY_BYTES + 1)).is_none());
    }
}
