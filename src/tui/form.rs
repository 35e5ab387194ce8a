//! The target edit form: every input of a probe target as a text field, validated into a
//! `TargetRun` only when the user saves it.

use crate::probe::{display_header_value, is_secret_header, Header, ProbeOptions, ProbeRole};
use crate::session::{MaterialRefs, PasswordRef, TargetKind, TargetRun};

/// Shown instead of a secret header value; a header still holding it keeps its old value.
pub const REDACTED: &str = "[redacted]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKey {
    Name,
    Role,
    Host,
    Port,
    Sni,
    ConnectTo,
    Method,
    Path,
    Headers,
    Cert,
    Key,
    Pfx,
    Password,
    Ca,
    ClientCa,
    Policy,
    Azure,
}

impl FieldKey {
    pub const ALL: [FieldKey; 17] = [
        FieldKey::Name,
        FieldKey::Role,
        FieldKey::Host,
        FieldKey::Port,
        FieldKey::Sni,
        FieldKey::ConnectTo,
        FieldKey::Method,
        FieldKey::Path,
        FieldKey::Headers,
        FieldKey::Cert,
        FieldKey::Key,
        FieldKey::Pfx,
        FieldKey::Password,
        FieldKey::Ca,
        FieldKey::ClientCa,
        FieldKey::Policy,
        FieldKey::Azure,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FieldKey::Name => "Name",
            FieldKey::Role => "Role",
            FieldKey::Host => "Host",
            FieldKey::Port => "Port",
            FieldKey::Sni => "SNI",
            FieldKey::ConnectTo => "Connect to",
            FieldKey::Method => "Method",
            FieldKey::Path => "Path",
            FieldKey::Headers => "Headers",
            FieldKey::Cert => "Certificate",
            FieldKey::Key => "Key",
            FieldKey::Pfx => "PFX",
            FieldKey::Password => "PFX password",
            FieldKey::Ca => "Server CA",
            FieldKey::ClientCa => "Uploaded CAs",
            FieldKey::Policy => "Policy",
            FieldKey::Azure => "Azure JSON",
        }
    }

    /// What to type, shown when the field has the focus.
    pub fn hint(self) -> &'static str {
        match self {
            FieldKey::Name => "a label for the targets list (empty: host:port role)",
            FieldKey::Role => "Space or ←/→: inbound (client → gateway) or outbound (gateway → backend)",
            FieldKey::Host => "the name called: sent as SNI and Host: unless overridden",
            FieldKey::Port => "1-65535",
            FieldKey::Sni => "server name to send (empty: the host)",
            FieldKey::ConnectTo => {
                "HOST1:PORT1:HOST2:PORT2 as curl --connect-to, or HOST:PORT: connect there, keeping the host for SNI"
            }
            FieldKey::Method => "HTTP method",
            FieldKey::Path => "HTTP path",
            FieldKey::Headers => "Name: value; Name2: value  (secret values stay [redacted])",
            FieldKey::Cert => "client certificate file (PEM/DER, may hold the chain)",
            FieldKey::Key => "private key file for the certificate",
            FieldKey::Pfx => "PKCS#12 file (.pfx/.p12) with certificate and key",
            FieldKey::Password => "prompt, env:VAR, file:PATH or none",
            FieldKey::Ca => "trust for the server's chain, comma-separated (empty: system store)",
            FieldKey::ClientCa => "CA certificates uploaded to the gateway (for Verify()), comma-separated",
            FieldKey::Policy => "APIM policy XML file",
            FieldKey::Azure => "az CLI JSON exports, comma-separated",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub key: FieldKey,
    pub value: String,
    /// Cursor position in characters.
    pub cursor: usize,
}

/// What the form is editing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormTarget {
    /// The target with this id.
    Existing(u64),
    /// A new target, inserted after the selection.
    New,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetForm {
    pub target: FormTarget,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// The last validation problem, naming the field.
    pub error: Option<String>,
    /// The field that problem is about and its value then: editing that field clears the error.
    error_on: Option<(FieldKey, String)>,
    /// The target as it was, for values the form does not show (secret headers, timeouts …).
    pub base: TargetRun,
}

fn role_text(r: ProbeRole) -> String {
    r.to_string()
}

fn password_text(p: &PasswordRef) -> String {
    match p {
        PasswordRef::Prompt => "prompt".into(),
        PasswordRef::Env { var } => format!("env:{var}"),
        PasswordRef::File { path } => format!("file:{path}"),
        PasswordRef::None => "none".into(),
    }
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn list(v: &[String]) -> String {
    v.join(", ")
}

impl TargetForm {
    /// A form filled from `run` (a probe target; inspect targets have no probe options).
    pub fn new(target: FormTarget, run: &TargetRun) -> Self {
        let o = run.options.clone().unwrap_or_else(|| ProbeOptions::new("", 443));
        let m = &run.material;
        let headers = o
            .headers
            .iter()
            .map(|h| format!("{}: {}", h.name, display_header_value(&h.name, &h.value)))
            .collect::<Vec<_>>()
            .join("; ");
        let port = if o.host.is_empty() && run.options.is_none() { "443".to_string() } else { o.port.to_string() };
        let fields = FieldKey::ALL
            .iter()
            .map(|&key| {
                let value = match key {
                    FieldKey::Name => run.name.clone(),
                    FieldKey::Role => role_text(o.role),
                    FieldKey::Host => o.host.clone(),
                    FieldKey::Port => port.clone(),
                    FieldKey::Sni => opt(&o.sni),
                    FieldKey::ConnectTo => opt(&o.connect_to),
                    FieldKey::Method => o.method.clone(),
                    FieldKey::Path => o.path.clone(),
                    FieldKey::Headers => headers.clone(),
                    FieldKey::Cert => opt(&m.cert),
                    FieldKey::Key => opt(&m.key),
                    FieldKey::Pfx => opt(&m.pfx),
                    FieldKey::Password => password_text(&m.password),
                    FieldKey::Ca => list(&m.ca),
                    FieldKey::ClientCa => list(&m.client_ca),
                    FieldKey::Policy => opt(&m.policy),
                    FieldKey::Azure => list(&m.azure),
                };
                let cursor = value.chars().count();
                Field { key, value, cursor }
            })
            .collect();
        TargetForm { target, fields, focus: 0, error: None, error_on: None, base: run.clone() }
    }

    pub fn focused(&self) -> Option<&Field> {
        self.fields.get(self.focus)
    }

    pub fn value(&self, key: FieldKey) -> &str {
        self.fields.iter().find(|f| f.key == key).map(|f| f.value.as_str()).unwrap_or("")
    }

    pub fn set(&mut self, key: FieldKey, value: &str) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.key == key) {
            f.value = value.to_string();
            f.cursor = f.value.chars().count();
        }
    }

    pub fn next(&mut self) {
        self.focus = (self.focus + 1) % self.fields.len().max(1);
    }

    pub fn prev(&mut self) {
        let n = self.fields.len().max(1);
        self.focus = (self.focus + n - 1) % n;
    }

    fn field_mut(&mut self) -> Option<&mut Field> {
        self.fields.get_mut(self.focus)
    }

    /// Type a character into the focused field (the role field toggles instead).
    pub fn insert(&mut self, c: char) {
        let Some(f) = self.field_mut() else { return };
        if f.key == FieldKey::Role {
            if c == ' ' {
                toggle_role(f);
            }
            return;
        }
        if c.is_control() {
            return;
        }
        let at = byte_index(&f.value, f.cursor);
        f.value.insert(at, c);
        f.cursor += 1;
    }

    pub fn backspace(&mut self) {
        let Some(f) = self.field_mut() else { return };
        if f.cursor == 0 || f.key == FieldKey::Role {
            return;
        }
        let at = byte_index(&f.value, f.cursor - 1);
        f.value.remove(at);
        f.cursor -= 1;
    }

    pub fn delete(&mut self) {
        let Some(f) = self.field_mut() else { return };
        if f.cursor < f.value.chars().count() && f.key != FieldKey::Role {
            let at = byte_index(&f.value, f.cursor);
            f.value.remove(at);
        }
    }

    pub fn left(&mut self) {
        let Some(f) = self.field_mut() else { return };
        if f.key == FieldKey::Role {
            toggle_role(f);
        } else {
            f.cursor = f.cursor.saturating_sub(1);
        }
    }

    pub fn right(&mut self) {
        let Some(f) = self.field_mut() else { return };
        if f.key == FieldKey::Role {
            toggle_role(f);
        } else {
            f.cursor = (f.cursor + 1).min(f.value.chars().count());
        }
    }

    pub fn home(&mut self) {
        if let Some(f) = self.field_mut() {
            f.cursor = 0;
        }
    }

    pub fn end(&mut self) {
        if let Some(f) = self.field_mut() {
            f.cursor = f.value.chars().count();
        }
    }

    /// Remove the whole value of the focused field (Ctrl-U, as in a shell).
    pub fn clear(&mut self) {
        if let Some(f) = self.field_mut() {
            if f.key != FieldKey::Role {
                f.value.clear();
                f.cursor = 0;
            }
        }
    }

    /// Validate and build the edited target. The error names the field and what is wrong; the
    /// focus moves to that field.
    pub fn build(&mut self) -> Result<TargetRun, String> {
        match self.try_build() {
            Ok(run) => {
                self.error = None;
                Ok(run)
            }
            Err((key, problem)) => {
                if let Some(i) = self.fields.iter().position(|f| f.key == key) {
                    self.focus = i;
                }
                let msg = format!("{}: {problem}", key.label());
                self.error = Some(msg.clone());
                self.error_on = Some((key, self.value(key).to_string()));
                Err(msg)
            }
        }
    }

    /// After an edit: the error goes once the field it is about has changed (it comes back on the
    /// next save if the new value is wrong too).
    pub fn forget_stale_error(&mut self) {
        if let Some((key, then)) = &self.error_on {
            if self.value(*key) != then {
                self.error = None;
                self.error_on = None;
            }
        }
    }

    fn try_build(&self) -> Result<TargetRun, (FieldKey, String)> {
        let text = |k| self.value(k).trim().to_string();
        let optional = |k| Some(text(k)).filter(|s: &String| !s.is_empty());
        let paths = |k| -> Vec<String> {
            self.value(k).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
        };

        let mut host = text(FieldKey::Host);
        if host.is_empty() {
            return Err((FieldKey::Host, "required".into()));
        }
        // A URL typed as the host fills host, port and (when the path field is empty) the path.
        let mut url_path = None;
        let mut url_port = None;
        if host.contains("://") || host.contains('/') {
            let spec = crate::probe::url::parse_target(&host).map_err(|p| (FieldKey::Host, p))?;
            (host, url_port, url_path) = (spec.host, Some(spec.port), spec.path);
        }
        if host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err((FieldKey::Host, format!("{host:?} is not a host name or address")));
        }
        let port_text = text(FieldKey::Port);
        let port = match (url_port, port_text.parse::<u16>()) {
            (Some(p), _) => p,
            (None, Ok(p)) if p > 0 => p,
            _ => return Err((FieldKey::Port, format!("{port_text:?} is not a port (1-65535)"))),
        };
        let mut o = self.base.options.clone().unwrap_or_else(|| ProbeOptions::new(&host, port));
        o.host = host;
        o.port = port;
        o.role = if text(FieldKey::Role) == ProbeRole::Outbound.to_string() {
            ProbeRole::Outbound
        } else {
            ProbeRole::Inbound
        };
        o.sni = optional(FieldKey::Sni);
        o.connect_to = optional(FieldKey::ConnectTo);
        if let Some(ct) = &o.connect_to {
            crate::probe::url::ConnectTo::parse(ct).map_err(|p| (FieldKey::ConnectTo, format!("{ct:?}: {p}")))?;
        }
        let method = text(FieldKey::Method).to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err((FieldKey::Method, format!("{method:?} is not an HTTP method")));
        }
        o.method = method;
        let path = text(FieldKey::Path);
        o.path = match url_path {
            // The form shows "/" by default: a URL's own path wins over that.
            Some(u) if path.is_empty() || path == "/" => u,
            _ if path.is_empty() => "/".into(),
            _ => path,
        };
        if !o.path.starts_with('/') {
            return Err((FieldKey::Path, format!("{:?} must start with /", o.path)));
        }
        let old_headers = self.base.options.as_ref().map(|b| b.headers.clone()).unwrap_or_default();
        let mut headers = Vec::new();
        for part in self.value(FieldKey::Headers).split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let mut h = Header::parse(part).map_err(|e| (FieldKey::Headers, e.to_string()))?;
            if is_secret_header(&h.name) && h.value == REDACTED {
                // The form never showed the secret: keep the value the target already had.
                match old_headers.iter().find(|old| old.name.eq_ignore_ascii_case(&h.name)) {
                    Some(old) => h.value = old.value.clone(),
                    None => return Err((FieldKey::Headers, format!("{}: type the value", h.name))),
                }
            }
            headers.push(h);
        }
        o.headers = headers;

        let cert = optional(FieldKey::Cert);
        let key = optional(FieldKey::Key);
        let pfx = optional(FieldKey::Pfx);
        if pfx.is_some() && (cert.is_some() || key.is_some()) {
            return Err((FieldKey::Pfx, "give either a PFX or a certificate and key, not both".into()));
        }
        if key.is_some() && cert.is_none() {
            return Err((FieldKey::Cert, "a key needs its certificate".into()));
        }
        let pw_text = text(FieldKey::Password);
        let password = match pw_text.as_str() {
            "" | "prompt" => PasswordRef::Prompt,
            "none" => PasswordRef::None,
            t => match t.split_once(':') {
                Some(("env", var)) if !var.trim().is_empty() => PasswordRef::Env { var: var.trim().into() },
                Some(("file", path)) if !path.trim().is_empty() => PasswordRef::File { path: path.trim().into() },
                _ => {
                    return Err((
                        FieldKey::Password,
                        format!("{t:?}: expected prompt, env:VAR, file:PATH or none (never the password itself)"),
                    ))
                }
            },
        };
        let material = MaterialRefs {
            cert,
            key,
            pfx,
            password,
            ca: paths(FieldKey::Ca),
            client_ca: paths(FieldKey::ClientCa),
            policy: optional(FieldKey::Policy),
            azure: paths(FieldKey::Azure),
            offline: self.base.material.offline,
            deployment_certs: self.base.material.deployment_certs.clone(),
            named_values: self.base.material.named_values.clone(),
            forward_cert: self.base.material.forward_cert.clone(),
        };
        // A name that was only the automatic label follows the new host, port and role.
        let old_label = self.base.options.as_ref().map(crate::engine::probe_label);
        let name = match optional(FieldKey::Name) {
            Some(n) if Some(&n) != old_label.as_ref() => n,
            _ => crate::engine::probe_label(&o),
        };

        let unchanged = self.base.kind == TargetKind::Probe
            && self.base.options.as_ref() == Some(&o)
            && self.base.material == material;
        let mut run = if unchanged {
            // Only the label changed: the observations still describe these inputs.
            self.base.clone()
        } else {
            TargetRun { kind: TargetKind::Probe, options: Some(o), material, ..Default::default() }
        };
        run.name = name;
        Ok(run)
    }
}

fn toggle_role(f: &mut Field) {
    let outbound = ProbeRole::Outbound.to_string();
    f.value = if f.value == outbound { ProbeRole::Inbound.to_string() } else { outbound };
    f.cursor = f.value.chars().count();
}

fn byte_index(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map(|(i, _)| i).unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> TargetForm {
        let mut o = ProbeOptions::new("api.contoso.com", 443);
        o.headers = vec![
            Header { name: "Ocp-Apim-Subscription-Key".into(), value: "s3cret".into() },
            Header { name: "X-Trace".into(), value: "1".into() },
        ];
        let run = crate::engine::probe_target(o, MaterialRefs::default());
        TargetForm::new(FormTarget::Existing(1), &run)
    }

    #[test]
    fn secret_header_is_never_shown_and_survives_an_edit() {
        let mut f = filled();
        assert_eq!(f.value(FieldKey::Headers), "Ocp-Apim-Subscription-Key: [redacted]; X-Trace: 1");
        f.set(FieldKey::Port, "8443");
        let run = f.build().expect("valid");
        let o = run.options.expect("options");
        assert_eq!(o.port, 8443);
        assert_eq!(o.headers[0].value, "s3cret");
        assert!(run.probe.is_none(), "changed inputs drop old observations");
    }

    #[test]
    fn errors_name_the_field_and_move_focus() {
        let mut f = filled();
        f.set(FieldKey::Port, "70000");
        assert_eq!(f.build().expect_err("bad port"), "Port: \"70000\" is not a port (1-65535)");
        assert_eq!(f.focused().map(|x| x.key), Some(FieldKey::Port));
        f.insert('1');
        f.forget_stale_error();
        assert_eq!(f.error, None, "editing the field the error is about clears it");
        f.set(FieldKey::Port, "443");
        f.set(FieldKey::Password, "hunter2");
        let e = f.build().expect_err("literal password refused");
        assert!(e.starts_with("PFX password: "), "{e}");
        f.set(FieldKey::Password, "env:PFX_PW");
        f.set(FieldKey::Pfx, "a.pfx");
        f.set(FieldKey::Cert, "a.pem");
        assert!(f.build().expect_err("both").starts_with("PFX: "));
    }

    #[test]
    fn a_url_in_the_host_field_fills_host_port_and_path() {
        let mut f = filled();
        f.set(FieldKey::Host, "https://[::1]:8443/orders/v1/health?x=1");
        let o = f.build().expect("url").options.expect("options");
        assert_eq!((o.host.as_str(), o.port, o.path.as_str()), ("::1", 8443, "/orders/v1/health?x=1"));
        f.set(FieldKey::Host, "https://api.contoso.com/a");
        f.set(FieldKey::Path, "/typed");
        assert_eq!(f.build().expect("path field wins").options.expect("options").path, "/typed");
        f.set(FieldKey::Host, "http://api.contoso.com/");
        assert_eq!(f.build().expect_err("http"), "Host: mtls-doctor probes TLS: use https://");
        f.set(FieldKey::Host, "api.contoso.com");
        f.set(FieldKey::ConnectTo, "api.contoso.com:443:127.0.0.1");
        assert!(f.build().expect_err("3 fields").starts_with("Connect to: "), "names the field");
    }

    #[test]
    fn typing_edits_at_the_cursor_and_role_toggles() {
        let mut f = filled();
        f.focus = 2; // host
        f.home();
        f.insert('x');
        f.end();
        f.backspace();
        assert_eq!(f.value(FieldKey::Host), "xapi.contoso.co");
        f.focus = 1; // role
        f.insert('q');
        assert_eq!(f.value(FieldKey::Role), "inbound");
        f.insert(' ');
        assert_eq!(f.value(FieldKey::Role), "outbound");
        let run = f.build().expect("valid");
        assert_eq!(run.options.map(|o| o.role), Some(ProbeRole::Outbound));
    }
}
