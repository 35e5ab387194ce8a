//! Named values (`{{name}}`): the gateway replaces each with the named value's text before the
//! policy runs, so they are substituted here the same way, as XML-escaped text.

/// Replace every `{{name}}` whose name is given; the others stay, and evaluation reports them
/// as unresolved. Names match exactly.
pub fn resolve_named_values(xml: &str, values: &[(String, String)]) -> String {
    if values.is_empty() {
        return xml.to_string();
    }
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                match values.iter().find(|(n, _)| n == name) {
                    Some((_, v)) => out.push_str(&xml_escape(v)),
                    None => {
                        out.push_str("{{");
                        out.push_str(name);
                        out.push_str("}}");
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}
