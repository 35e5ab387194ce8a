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

/// The first character that would make a paste differ from what the screen showed: a C0/C1 control
/// (ESC, CR, backspace, U+009B), DEL, or an invisible/bidi control (U+202E). A pasted newline runs
/// what follows it in a shell, so only multi-line values (a PEM, fix steps) may hold `\n`.
pub fn unsafe_to_paste(text: &str, multi_line: bool) -> Option<char> {
    text.chars().find(|&c| !(multi_line && c == '\n') && (c.is_control() || crate::policy::is_invisible(c)))
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

    #[test]
    fn controls_bidi_and_del_are_unsafe_and_newlines_only_in_one_line_values() {
        assert_eq!(unsafe_to_paste("CN=a\u{202E}b", true), Some('\u{202E}'));
        assert_eq!(unsafe_to_paste("x\u{9B}1m", true), Some('\u{9B}'));
        assert_eq!(unsafe_to_paste("x\x7f", true), Some('\x7f'));
        assert_eq!(unsafe_to_paste("a\nb", false), Some('\n'));
        assert_eq!(unsafe_to_paste("a\nb\n", true), None);
        assert_eq!(unsafe_to_paste("CN=Zürich, O=Ünï", false), None);
    }
}
