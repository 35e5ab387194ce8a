//! Removing secrets before a session is saved or shown: secret header values wherever they appear
//! again, and any PEM private key block.

use serde_json::Value;

use super::model::{Session, TargetRun, REDACTED};
use crate::error::{Error, Result};
use crate::probe::is_secret_header;

/// The session as it may be saved or shown: every secret removed.
///
/// Secret header values (Authorization, Ocp-Apim-Subscription-Key, Cookie, Set-Cookie,
/// Proxy-Authorization) become `[redacted]` wherever a header appears, and any other place a secret
/// value sent with the request shows up again (a server echoing the request into its body, an error
/// quoting it) is cut out too. A PEM private key block, should one ever reach a string, is removed.
///
/// A session in which redaction would change nothing (see `redact_check.rs`) is copied as the
/// JSON tree would give it back, without the tree.
pub fn redacted(session: &Session) -> Result<Session> {
    let secrets = secrets_of(&session.targets);
    if super::redact_check::untouched(session, &secrets) {
        let mut safe = session.clone();
        safe.targets = safe.targets.into_iter().map(without_unsaved).collect();
        return Ok(safe);
    }
    redacted_through_tree(session, &secrets)
}

/// [`redacted`] the long way: the session's JSON tree, scrubbed, read back.
pub(super) fn redacted_through_tree(session: &Session, secrets: &[String]) -> Result<Session> {
    let mut value =
        serde_json::to_value(session).map_err(|e| Error::input("session", format!("cannot be serialized ({e})")))?;
    scrub(&mut value, secrets);
    serde_json::from_value(value).map_err(|e| Error::input("session", format!("cannot be redacted ({e})")))
}

/// The secret values every target of a batch sends: a streamed sweep cuts them out of each target
/// as it finishes, as [`redacted`] does for the whole session.
pub fn secrets_of(targets: &[TargetRun]) -> Vec<String> {
    targets
        .iter()
        .filter_map(|t| t.options.as_ref())
        .flat_map(|o| o.headers.iter())
        .filter(|h| is_secret_header(&h.name))
        .flat_map(|h| secret_fragments(&h.value))
        .collect()
}

/// One finished target with `secrets` (from [`secrets_of`]) and its own secrets removed.
pub fn redacted_target(run: &TargetRun, secrets: &[String]) -> Result<TargetRun> {
    let mut all = secrets_of(std::slice::from_ref(run));
    all.extend(secrets.iter().cloned());
    let mut value =
        serde_json::to_value(run).map_err(|e| Error::input("target", format!("cannot be serialized ({e})")))?;
    scrub(&mut value, &all);
    serde_json::from_value(value).map_err(|e| Error::input("target", format!("cannot be redacted ({e})")))
}

/// [`redacted_target`] for a run the caller gives up: a run in which redaction would change
/// nothing (almost every target of a sweep) is handed back as the redacted copy would be, without
/// copying it through a JSON tree and back; any other run takes the tree path.
pub fn redact_target(run: TargetRun, secrets: &[String]) -> Result<TargetRun> {
    let mut all = secrets_of(std::slice::from_ref(&run));
    all.extend(secrets.iter().cloned());
    if super::redact_check::untouched(&run, &all) {
        return Ok(without_unsaved(run));
    }
    redacted_target(&run, secrets)
}

/// The run as the JSON tree gives it back: what it does not carry (`#[serde(skip)]`: named
/// values, proxy credentials) is gone, and a secret header's value is the placeholder it is
/// written as.
fn without_unsaved(mut run: TargetRun) -> TargetRun {
    run.material.named_values.clear();
    if let Some(options) = run.options.as_mut() {
        if let Some(proxy) = options.proxy.as_mut() {
            proxy.forget_credentials();
        }
        for h in options.headers.iter_mut().filter(|h| is_secret_header(&h.name)) {
            h.value = REDACTED.to_string();
        }
    }
    run
}

pub(super) use crate::probe::secrets::secret_fragments;

pub(super) fn scrub(v: &mut Value, secrets: &[String]) {
    match v {
        Value::String(s) => {
            if let Some(clean) = scrub_string(s, secrets) {
                *s = clean;
            }
        }
        Value::Array(items) => {
            // Response headers are `[name, value]` pairs.
            if let [Value::String(name), Value::String(value)] = items.as_mut_slice() {
                if is_secret_header(name) {
                    *value = REDACTED.to_string();
                }
            }
            items.iter_mut().for_each(|i| scrub(i, secrets));
        }
        Value::Object(map) => {
            // Request headers given as options are `{name, value}` objects (reports and listen records
            // hold `[name, value]` pairs, handled above; a version-1 listen record mapped names to values).
            let named_secret = matches!(map.get("name"), Some(Value::String(n)) if is_secret_header(n));
            if named_secret {
                if let Some(value) = map.get_mut("value") {
                    *value = Value::String(REDACTED.to_string());
                }
            }
            for (key, value) in map.iter_mut() {
                if is_secret_header(key) && value.is_string() {
                    *value = Value::String(REDACTED.to_string());
                } else {
                    scrub(value, secrets);
                }
            }
        }
        _ => {}
    }
}

pub(super) fn scrub_string(s: &str, secrets: &[String]) -> Option<String> {
    let mut out = crate::probe::secrets::redact_secrets(s, secrets);
    let current = out.as_deref().unwrap_or(s);
    if current.contains("PRIVATE KEY-----") {
        out = Some(remove_private_key_blocks(current));
    }
    out
}

/// Cut every `-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----` block (or, if the end
/// is missing, everything after the begin line).
pub(super) fn remove_private_key_blocks(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("-----BEGIN ") {
        let header_end = rest[start..].find("-----\n").map(|e| start + e);
        let is_key = rest[start..].lines().next().is_some_and(|l| l.contains("PRIVATE KEY"));
        if !is_key {
            let skip = start + "-----BEGIN ".len();
            out.push_str(&rest[..skip]);
            rest = &rest[skip..];
            continue;
        }
        out.push_str(&rest[..start]);
        out.push_str("[private key removed]");
        let after_begin = header_end.map(|e| e + 6).unwrap_or(rest.len());
        rest = match rest[after_begin..].find("PRIVATE KEY-----") {
            Some(end) => &rest[after_begin + end + "PRIVATE KEY-----".len()..],
            None => "",
        };
    }
    out.push_str(rest);
    // A key whose markers were mangled must still not survive under its usual label.
    out.replace("PRIVATE KEY", "[private key removed]")
}

#[cfg(test)]
mod tests {
    use super::super::model::TargetRun;
    use super::*;
    use crate::probe::{Header, ProbeOptions};

    #[test]
    fn private_key_blocks_are_cut_out_of_any_string() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n";
        let out = remove_private_key_blocks(&format!("before\n{cert}{key}after"));
        assert!(out.contains(cert) && out.starts_with("before\n") && out.ends_with("after"), "{out}");
        assert!(!out.contains("PRIVATE KEY") && !out.contains("MHcC"), "{out}");
        // No END line: everything after BEGIN goes.
        let out = remove_private_key_blocks("x -----BEGIN PRIVATE KEY-----\nMIIE secret");
        assert_eq!(out, "x [private key removed]");
    }

    #[test]
    fn secret_values_are_redacted_everywhere_in_a_session() {
        let mut options = ProbeOptions::new("api.example", 443);
        options.headers = vec![
            Header { name: "authorization".into(), value: "Bearer token-value-123".into() },
            Header { name: "X-Trace".into(), value: "visible".into() },
        ];
        let run = TargetRun {
            name: "t".into(),
            options: Some(options),
            error: Some("server said token-value-123 is wrong".into()),
            ..Default::default()
        };
        let safe = redacted(&Session::new(vec![run])).expect("redact");
        let text = serde_json::to_string(&safe).expect("json");
        assert!(!text.contains("token-value-123"), "{text}");
        assert!(text.contains("visible"));
        assert_eq!(safe.targets[0].error.as_deref(), Some("server said [redacted] is wrong"));
        assert_eq!(secret_fragments("ab"), Vec::<String>::new(), "too short to hunt for");
    }
}
