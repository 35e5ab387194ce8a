//! Themes: semantic style roles loaded from `themes/*.toml`, with the shipped themes embedded.
//!
//! Call sites ask for a role (`Role::Error`, `Role::Focus`), never a colour, so a theme file can
//! restyle everything and `NO_COLOR` can strip colour without losing meaning (badges carry text).

use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The themes shipped with the tool, embedded so that `cargo install` works without the repository.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

pub const DEFAULT_THEME: &str = "dark";

/// What a piece of the screen means; themes style meanings, not widgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The canvas: default foreground and background of the whole screen.
    Background,
    Text,
    Muted,
    Accent,
    Title,
    /// Border and title of the pane that has the keyboard.
    Focus,
    Border,
    Selection,
    Error,
    Warning,
    Info,
    Ok,
    Running,
    /// Policy snippets, PEM and other text meant to be copied.
    Code,
    /// Key names in the footer and help.
    Key,
}

impl Role {
    pub const ALL: [Role; 15] = [
        Role::Background,
        Role::Text,
        Role::Muted,
        Role::Accent,
        Role::Title,
        Role::Focus,
        Role::Border,
        Role::Selection,
        Role::Error,
        Role::Warning,
        Role::Info,
        Role::Ok,
        Role::Running,
        Role::Code,
        Role::Key,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Background => "background",
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Accent => "accent",
            Role::Title => "title",
            Role::Focus => "focus",
            Role::Border => "border",
            Role::Selection => "selection",
            Role::Error => "error",
            Role::Warning => "warning",
            Role::Info => "info",
            Role::Ok => "ok",
            Role::Running => "running",
            Role::Code => "code",
            Role::Key => "key",
        }
    }

    fn index(self) -> usize {
        Role::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// A loaded theme: one style per role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: [Style; Role::ALL.len()],
    /// True when colour was stripped (`NO_COLOR`).
    pub monochrome: bool,
}

impl Theme {
    pub fn style(&self, role: Role) -> Style {
        self.styles[role.index()]
    }

    /// The embedded default theme. It is parsed from the same TOML as the file in `themes/`, and a
    /// unit test guarantees it parses, so the fallback can only be reached by a broken build.
    pub fn builtin_default() -> Theme {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == DEFAULT_THEME)
            .and_then(|(n, text)| parse(text, &format!("built-in theme {n}"), None).ok())
            .unwrap_or_else(|| Theme {
                name: DEFAULT_THEME.into(),
                styles: [Style::default(); Role::ALL.len()],
                monochrome: false,
            })
    }

    /// Load a theme by name (`dark`, `light`, `high-contrast`, or any `themes/NAME.toml`) or by path
    /// (anything with a `/` or ending in `.toml`). `None` means the default. Colour is stripped
    /// when `NO_COLOR` is set.
    pub fn load(spec: Option<&str>) -> Result<Theme> {
        let theme = Theme::load_with_colour(spec)?;
        Ok(if no_color() { theme.monochrome() } else { theme })
    }

    /// [`Theme::load`] without looking at `NO_COLOR`.
    pub fn load_with_colour(spec: Option<&str>) -> Result<Theme> {
        let spec = spec.unwrap_or(DEFAULT_THEME);
        let base = Theme::builtin_default();
        if spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR) || spec.ends_with(".toml") {
            let path = PathBuf::from(spec);
            let text = crate::fsio::read_text_capped(&path, crate::fsio::THEME_CAP)?;
            return parse(&text, &path.display().to_string(), Some(&base));
        }
        if !spec.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(Error::input("--theme", format!("{spec:?} is neither a theme name nor a .toml path")));
        }
        // The repository's copy wins so a theme can be tuned without rebuilding.
        let on_disk = themes_dir().join(format!("{spec}.toml"));
        if let Ok(text) = crate::fsio::read_text_capped(&on_disk, crate::fsio::THEME_CAP) {
            return parse(&text, &on_disk.display().to_string(), Some(&base));
        }
        match BUILTIN.iter().find(|(n, _)| *n == spec) {
            Some((n, text)) => parse(text, &format!("built-in theme {n}"), Some(&base)),
            None => Err(Error::input(
                "--theme",
                format!("no theme named {spec:?} (built in: {}; or give a path to a .toml file)", names().join(", ")),
            )),
        }
    }

    /// The same theme without colour: modifiers stay, and selection and focus get reverse video and
    /// bold so they remain visible.
    pub fn monochrome(mut self) -> Theme {
        for (i, s) in self.styles.iter_mut().enumerate() {
            let mut plain = Style::default().add_modifier(s.add_modifier);
            match Role::ALL.get(i) {
                Some(Role::Selection) => plain = plain.add_modifier(Modifier::REVERSED),
                Some(Role::Focus) | Some(Role::Error) | Some(Role::Title) => plain = plain.add_modifier(Modifier::BOLD),
                _ => {}
            }
            *s = plain;
        }
        self.monochrome = true;
        self
    }
}

/// Whether the user asked for no colour (<https://no-color.org>: set and not empty).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Where the repository keeps its theme files.
pub fn themes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("themes")
}

/// The names of the built-in themes.
pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    #[serde(default)]
    roles: RolesFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    background: Option<StyleSpec>,
    text: Option<StyleSpec>,
    muted: Option<StyleSpec>,
    accent: Option<StyleSpec>,
    title: Option<StyleSpec>,
    focus: Option<StyleSpec>,
    border: Option<StyleSpec>,
    selection: Option<StyleSpec>,
    error: Option<StyleSpec>,
    warning: Option<StyleSpec>,
    info: Option<StyleSpec>,
    ok: Option<StyleSpec>,
    running: Option<StyleSpec>,
    code: Option<StyleSpec>,
    key: Option<StyleSpec>,
}

impl RolesFile {
    fn get(&self, role: Role) -> Option<&StyleSpec> {
        match role {
            Role::Background => self.background.as_ref(),
            Role::Text => self.text.as_ref(),
            Role::Muted => self.muted.as_ref(),
            Role::Accent => self.accent.as_ref(),
            Role::Title => self.title.as_ref(),
            Role::Focus => self.focus.as_ref(),
            Role::Border => self.border.as_ref(),
            Role::Selection => self.selection.as_ref(),
            Role::Error => self.error.as_ref(),
            Role::Warning => self.warning.as_ref(),
            Role::Info => self.info.as_ref(),
            Role::Ok => self.ok.as_ref(),
            Role::Running => self.running.as_ref(),
            Role::Code => self.code.as_ref(),
            Role::Key => self.key.as_ref(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<Colour>,
    bg: Option<Colour>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    dim: bool,
}

impl StyleSpec {
    fn style(&self) -> Style {
        let mut s = Style::default();
        if let Some(Colour(c)) = self.fg {
            s = s.fg(c);
        }
        if let Some(Colour(c)) = self.bg {
            s = s.bg(c);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
            (self.dim, Modifier::DIM),
        ] {
            if on {
                s = s.add_modifier(m);
            }
        }
        s
    }
}

#[derive(Debug, Clone, Copy)]
struct Colour(Color);

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_colour(&text).map(Colour).map_err(serde::de::Error::custom)
    }
}

/// `#rrggbb`, a 0-255 palette index, or one of the 16 ANSI names (`red`, `lightblue`, `darkgray` …).
pub fn parse_colour(text: &str) -> std::result::Result<Color, String> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let v = u32::from_str_radix(hex, 16).map_err(|_| format!("bad colour {text:?}"))?;
            return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return Err(format!("bad colour {text:?}: expected #rrggbb"));
    }
    if let Ok(n) = t.parse::<u8>() {
        return Ok(Color::Indexed(n));
    }
    Ok(match t.replace(['-', '_', ' '], "").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return Err(format!("unknown colour {text:?} (use #rrggbb, 0-255 or an ANSI name such as lightblue)")),
    })
}

/// Parse a theme file. Roles it leaves out come from `base`. Errors name `origin` and the line.
pub fn parse(text: &str, origin: &str, base: Option<&Theme>) -> Result<Theme> {
    let file: ThemeFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let message = e.message().trim().replace('\n', " ");
        match line {
            Some(l) => Error::input(origin, format!("line {l}: {message}")),
            None => Error::input(origin, message),
        }
    })?;
    let mut styles = [Style::default(); Role::ALL.len()];
    for role in Role::ALL {
        styles[role.index()] = match (file.roles.get(role), base) {
            (Some(spec), _) => spec.style(),
            (None, Some(b)) => b.style(role),
            (None, None) => return Err(Error::input(origin, format!("missing role [roles].{}", role.as_str()))),
        };
    }
    let name = file.name.unwrap_or_else(|| {
        Path::new(origin).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "custom".into())
    });
    Ok(Theme { name, styles, monochrome: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses_completely_on_its_own() {
        for (name, text) in BUILTIN {
            let t = parse(text, name, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(t.name, *name);
            assert_ne!(t.style(Role::Error), t.style(Role::Ok), "{name}: error and ok must differ");
            assert!(t.style(Role::Background).bg.is_some(), "{name}: background needs a bg for screenshots");
        }
    }

    #[test]
    fn builtin_and_repository_copies_are_the_same_files() {
        for (name, text) in BUILTIN {
            let disk = std::fs::read_to_string(themes_dir().join(format!("{name}.toml"))).expect("theme on disk");
            assert_eq!(&disk, text);
        }
    }

    #[test]
    fn error_names_the_file_and_line() {
        let text = "name = \"x\"\n[roles]\nerror = { fg = \"reed\" }\n";
        let e = parse(text, "my.toml", None).expect_err("bad colour").to_string();
        assert!(e.starts_with("my.toml: line 3: "), "{e}");
        assert!(e.contains("reed"), "{e}");

        let text = "[roles]\ntext = { fg = \"red\" }\nsparkle = { fg = \"red\" }\n";
        let e = parse(text, "my.toml", Some(&Theme::builtin_default())).expect_err("unknown role").to_string();
        assert!(e.starts_with("my.toml: line 3: "), "{e}");
        assert!(e.contains("sparkle"), "{e}");
    }

    #[test]
    fn partial_theme_inherits_from_base() {
        let base = Theme::builtin_default();
        let t = parse("[roles]\nerror = { fg = \"#ff0000\", bold = true }\n", "x.toml", Some(&base)).expect("ok");
        assert_eq!(t.style(Role::Error), Style::default().fg(Color::Rgb(255, 0, 0)).add_modifier(Modifier::BOLD));
        assert_eq!(t.style(Role::Ok), base.style(Role::Ok));
        assert_eq!(t.name, "x");
    }

    #[test]
    fn colours_parse_in_every_form() {
        assert_eq!(parse_colour("#0A0b0C"), Ok(Color::Rgb(10, 11, 12)));
        assert_eq!(parse_colour("208"), Ok(Color::Indexed(208)));
        assert_eq!(parse_colour("Light-Blue"), Ok(Color::LightBlue));
        assert!(parse_colour("#12345").is_err());
        assert!(parse_colour("chartreuse").is_err());
    }

    #[test]
    fn monochrome_keeps_meaning_without_colour() {
        let t = Theme::builtin_default().monochrome();
        for role in Role::ALL {
            let s = t.style(role);
            assert_eq!((s.fg, s.bg), (None, None), "{}", role.as_str());
        }
        assert!(t.style(Role::Selection).add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn load_by_name_path_and_unknown() {
        assert_eq!(Theme::load_with_colour(Some("light")).expect("light").name, "light");
        let e = Theme::load_with_colour(Some("nope")).expect_err("unknown").to_string();
        assert!(e.contains("dark, light, high-contrast"), "{e}");
        let e = Theme::load_with_colour(Some("/nonexistent/t.toml")).expect_err("missing").to_string();
        assert!(e.starts_with("/nonexistent/t.toml: "), "{e}");
    }
}
