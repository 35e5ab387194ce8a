//! Policy XML to the [`Policy`] model: escapes raw policy expressions, parses with roxmltree, and
//! reports every position in the text the user wrote.
//!
//! The portal's editor shows expressions unescaped (`condition="@(x != "A" && y < z)"`), which is
//! not XML; the gateway escapes them before parsing, and so do we, keeping a map from the escaped
//! text back to the original so line and column numbers stay true.

use roxmltree::{Document, Node};

use super::{
    AuthenticationCertificate, Branch, Choose, ClientCertificateValidation, Element, ElementKind, Identity,
    IdentityAttribute, Policy, PolicyComment, PolicyForm, ReturnResponse, Section, SectionRole, SetStatus, SetVariable,
    Setting, StatusCode, When,
};
use crate::error::{Error, Result};

/// Wraps several top-level elements so roxmltree sees one document element.
const WRAPPER: &str = "mtls-doctor-fragment";

/// Far deeper than any real policy; keeps the recursive model building and walking within the stack.
const MAX_NESTING: usize = 100;

pub(crate) fn parse(src: &str, origin: &str) -> Result<Policy> {
    let prepared = prepare(src).map_err(|(pos, problem)| located(src, origin, pos, problem))?;
    let doc = Document::parse(&prepared.text).map_err(|e| {
        let text_pos = e.pos();
        let suffix = format!(" at {text_pos}");
        let message = e.to_string();
        let message = message.strip_suffix(&suffix).unwrap_or(&message).to_string();
        let proc = offset_of(&prepared.text, text_pos.row, text_pos.col);
        located(src, origin, prepared.to_orig(proc), message)
    })?;
    let builder = Builder { src, origin, prepared: &prepared };
    let mut policy = builder.policy(&doc)?;
    policy.comments = doc
        .descendants()
        .filter(|n| n.is_comment())
        .map(|n| PolicyComment { line: builder.pos(&n).0, text: n.text().unwrap_or_default().to_string() })
        .collect();
    Ok(policy)
}

fn located(src: &str, origin: &str, pos: usize, problem: impl Into<String>) -> Error {
    let (line, col) = line_col(src, pos);
    Error::input(format!("{origin}:{line}:{col}"), problem)
}

/// 1-based line and column (in characters) of a byte offset, counted as roxmltree counts.
fn line_col(src: &str, pos: usize) -> (u32, u32) {
    let mut pos = pos.min(src.len());
    while !src.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &src[..pos];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let col = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
    (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}

/// Byte offset of a 1-based line and character column.
fn offset_of(text: &str, row: u32, col: u32) -> usize {
    let mut offset = 0;
    for _ in 1..row {
        match text[offset..].find('\n') {
            Some(n) => offset += n + 1,
            None => return text.len(),
        }
    }
    let rest = &text[offset..];
    let skip = rest.char_indices().nth(col.saturating_sub(1) as usize).map(|(i, _)| i).unwrap_or(rest.len());
    offset + skip
}

struct Prepared {
    text: String,
    /// (offset in `text`, offset in the original, whether the bytes that follow are copied 1:1).
    anchors: Vec<(usize, usize, bool)>,
    wrapped: bool,
}

impl Prepared {
    fn to_orig(&self, p: usize) -> usize {
        let i = self.anchors.partition_point(|a| a.0 <= p);
        match i.checked_sub(1).and_then(|k| self.anchors.get(k)) {
            Some(&(proc, orig, true)) => orig + (p - proc),
            Some(&(_, orig, false)) => orig,
            None => 0,
        }
    }
}

struct Edit {
    pos: usize,
    len: usize,
    with: String,
}

/// Escape raw expressions and wrap multiple top-level elements; errors are (original offset, problem).
fn prepare(src: &str) -> std::result::Result<Prepared, (usize, String)> {
    let b = src.as_bytes();
    let mut edits = Vec::new();
    let mut depth: usize = 0;
    let mut top_level = 0;
    let mut first_element = None;
    let mut i = 0;
    let skip_to = |from: usize, end: &str| src[from..].find(end).map(|n| from + n + end.len());
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("<!--") {
            // Unclosed constructs are left for roxmltree to report.
            i = skip_to(i + 4, "-->").unwrap_or(b.len());
        } else if rest.starts_with("<![CDATA[") {
            i = skip_to(i + 9, "]]>").unwrap_or(b.len());
        } else if rest.starts_with("<?") {
            i = skip_to(i + 2, "?>").unwrap_or(b.len());
        } else if rest.starts_with("<!") {
            i = skip_to(i + 2, ">").unwrap_or(b.len());
        } else if rest.starts_with("</") {
            depth = depth.saturating_sub(1);
            i = skip_to(i + 2, ">").unwrap_or(b.len());
        } else if b[i] == b'<' {
            if depth == 0 {
                top_level += 1;
                first_element.get_or_insert(i);
            }
            let mut j = i + 1;
            let mut self_closing = false;
            while j < b.len() {
                match b[j] {
                    q @ (b'"' | b'\'') => {
                        let value = j + 1;
                        let mut k = value;
                        if src[value..].starts_with("@(") || src[value..].starts_with("@{") {
                            k = scan_expression(src, value, Some(q), &mut edits)?;
                        }
                        j = src[k..].find(char::from(q)).map(|n| k + n + 1).unwrap_or(b.len());
                    }
                    b'>' => {
                        self_closing = b[j - 1] == b'/';
                        j += 1;
                        break;
                    }
                    _ => j += 1,
                }
            }
            if !self_closing {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err((i, format!("elements are nested deeper than {MAX_NESTING} levels")));
                }
            }
            i = j;
        } else if rest.starts_with("@(") || rest.starts_with("@{") {
            i = scan_expression(src, i, None, &mut edits)?;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    let wrapped = top_level > 1;
    if wrapped {
        let at = first_element.unwrap_or(0);
        edits.insert(0, Edit { pos: at, len: 0, with: format!("<{WRAPPER}>") });
        edits.push(Edit { pos: src.len(), len: 0, with: format!("</{WRAPPER}>") });
    }
    let mut text = String::with_capacity(src.len() + edits.len() * 5);
    let mut anchors = vec![(0, 0, true)];
    let mut cur = 0;
    for e in edits {
        text.push_str(&src[cur..e.pos]);
        anchors.push((text.len(), e.pos, false));
        text.push_str(&e.with);
        cur = e.pos + e.len;
        anchors.push((text.len(), cur, true));
    }
    text.push_str(&src[cur..]);
    Ok(Prepared { text, anchors, wrapped })
}

/// One character of expression text as C# sees it: an XML entity counts as the character it
/// stands for (escaped policies) and a raw `<`, `&`, `"`, `'` needs escaping (raw policies).
fn logical_char(src: &str, i: usize) -> (char, usize, bool) {
    let rest = &src[i..];
    if let Some(after) = rest.strip_prefix('&') {
        for (entity, c) in [("&quot;", '"'), ("&apos;", '\''), ("&lt;", '<'), ("&gt;", '>'), ("&amp;", '&')] {
            if rest.starts_with(entity) {
                return (c, entity.len(), true);
            }
        }
        let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '#')).unwrap_or(0);
        if name_len > 0 && after[name_len..].starts_with(';') {
            // A character reference (or an unknown entity roxmltree will report): one opaque char.
            return ('\u{FFFD}', name_len + 2, true);
        }
    }
    let c = rest.chars().next().unwrap_or('\0');
    (c, c.len_utf8().max(1), false)
}

/// Scan the expression starting at `@` (followed by `(` or `{`) to its matching bracket, pushing
/// escapes for raw characters XML cannot hold. Returns the offset after the closing bracket.
fn scan_expression(
    src: &str,
    start: usize,
    quote: Option<u8>,
    edits: &mut Vec<Edit>,
) -> std::result::Result<usize, (usize, String)> {
    #[derive(PartialEq)]
    enum State {
        Code,
        Regular,
        Verbatim,
        Char,
    }
    let (open, close) = if src[start..].starts_with("@(") { ('(', ')') } else { ('{', '}') };
    let mut state = State::Code;
    let mut depth = 0usize;
    let mut prev = '@';
    let mut i = start + 1;
    let mut escape_next = false;
    while i < src.len() {
        let (c, len, entity) = logical_char(src, i);
        if !entity {
            let replacement = match c {
                '<' => Some("&lt;"),
                '&' => Some("&amp;"),
                '"' if quote != Some(b'\'') => Some("&quot;"),
                '\'' if quote == Some(b'\'') => Some("&apos;"),
                _ => None,
            };
            if let Some(r) = replacement {
                edits.push(Edit { pos: i, len, with: r.to_string() });
            }
        }
        i += len;
        if escape_next {
            escape_next = false;
            prev = c;
            continue;
        }
        match state {
            State::Code => {
                if c == '"' {
                    state = if prev == '@' { State::Verbatim } else { State::Regular };
                } else if c == '\'' {
                    state = State::Char;
                } else if c == open {
                    depth += 1;
                } else if c == close {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(i);
                    }
                }
            }
            State::Regular | State::Char => {
                let end = if state == State::Regular { '"' } else { '\'' };
                if c == '\\' {
                    escape_next = true;
                } else if c == end || c == '\n' {
                    state = State::Code;
                }
            }
            State::Verbatim => {
                // A doubled quote inside a verbatim string is one quote; the scan stays inside.
                if c == '"' {
                    let (next, _, _) = logical_char(src, i.min(src.len()));
                    if i < src.len() && next == '"' {
                        escape_next = true;
                    } else {
                        state = State::Code;
                    }
                }
            }
        }
        prev = c;
    }
    Err((start, format!("the policy expression `{}` is not closed", &src[start..(start + 2).min(src.len())])))
}

struct Builder<'a> {
    src: &'a str,
    origin: &'a str,
    prepared: &'a Prepared,
}

fn child_elements<'a, 'i: 'a>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|n| n.is_element())
}

fn name_of<'a>(node: &Node<'a, '_>) -> &'a str {
    node.tag_name().name()
}

fn join(prefix: &str, step: &str) -> String {
    if prefix.is_empty() {
        step.to_string()
    } else {
        format!("{prefix}/{step}")
    }
}

fn section_role(name: &str) -> Option<SectionRole> {
    Some(match name {
        "inbound" => SectionRole::Inbound,
        "backend" => SectionRole::Backend,
        "outbound" => SectionRole::Outbound,
        "on-error" => SectionRole::OnError,
        _ => return None,
    })
}

impl Builder<'_> {
    fn pos(&self, node: &Node) -> (u32, u32) {
        line_col(self.src, self.prepared.to_orig(node.range().start))
    }

    fn error(&self, node: &Node, problem: impl Into<String>) -> Error {
        located(self.src, self.origin, self.prepared.to_orig(node.range().start), problem)
    }

    fn policy(&self, doc: &Document) -> Result<Policy> {
        let root = doc.root_element();
        let tops: Vec<Node> = if self.prepared.wrapped && name_of(&root) == WRAPPER {
            child_elements(root).collect()
        } else {
            vec![root]
        };
        if let [only] = tops.as_slice() {
            if name_of(only) == "policies" {
                let sections = child_elements(*only)
                    .map(|s| {
                        let name = name_of(&s);
                        self.section(s, name, section_role(name).unwrap_or(SectionRole::Other))
                    })
                    .collect::<Result<Vec<_>>>()?;
                return Ok(Policy {
                    origin: self.origin.to_string(),
                    form: PolicyForm::Document,
                    sections,
                    comments: Vec::new(),
                });
            }
            if name_of(only) == "fragment" {
                let section = self.section(*only, "fragment", SectionRole::Inbound)?;
                return Ok(Policy {
                    origin: self.origin.to_string(),
                    form: PolicyForm::Sections,
                    sections: vec![section],
                    comments: Vec::new(),
                });
            }
        }
        let is_section = |n: &Node| section_role(name_of(n)).is_some();
        if tops.iter().all(is_section) {
            let sections = tops
                .iter()
                .map(|s| {
                    let name = name_of(s);
                    self.section(*s, name, section_role(name).unwrap_or(SectionRole::Other))
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(Policy {
                origin: self.origin.to_string(),
                form: PolicyForm::Sections,
                sections,
                comments: Vec::new(),
            });
        }
        if let Some(misplaced) = tops.iter().find(|n| is_section(n)) {
            return Err(self.error(
                misplaced,
                format!("<{}> is a policy section and cannot stand beside policy elements", name_of(misplaced)),
            ));
        }
        let (line, column) = tops.first().map(|n| self.pos(n)).unwrap_or((1, 1));
        let elements = self.elements(tops.into_iter(), "")?;
        Ok(Policy {
            origin: self.origin.to_string(),
            form: PolicyForm::Elements,
            sections: vec![Section { name: String::new(), role: SectionRole::Inbound, line, column, elements }],
            comments: Vec::new(),
        })
    }

    fn section(&self, node: Node, name: &str, role: SectionRole) -> Result<Section> {
        let (line, column) = self.pos(&node);
        let elements = self.elements(child_elements(node), name)?;
        Ok(Section { name: name.to_string(), role, line, column, elements })
    }

    /// Convert sibling elements, numbering each name XPath-style (`choose[2]` is the second choose).
    fn elements<'a, 'i: 'a>(&self, nodes: impl Iterator<Item = Node<'a, 'i>>, prefix: &str) -> Result<Vec<Element>> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        let mut out = Vec::new();
        for node in nodes {
            let name = name_of(&node);
            let index = match counts.iter_mut().find(|(n, _)| n == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c
                }
                None => {
                    counts.push((name.to_string(), 1));
                    1
                }
            };
            let path = join(prefix, &format!("{name}[{index}]"));
            out.push(self.element(node, path)?);
        }
        Ok(out)
    }

    fn element(&self, node: Node, path: String) -> Result<Element> {
        let (line, column) = self.pos(&node);
        let kind = match name_of(&node) {
            "base" => ElementKind::Base,
            "choose" => ElementKind::Choose(self.choose(node, &path)?),
            "return-response" => ElementKind::ReturnResponse(self.return_response(node)?),
            "set-status" => ElementKind::SetStatus(self.set_status(node)?),
            "set-variable" => ElementKind::SetVariable(SetVariable {
                name: node
                    .attribute("name")
                    .ok_or_else(|| self.error(&node, "<set-variable> has no name attribute"))?
                    .to_string(),
                value: node
                    .attribute("value")
                    .ok_or_else(|| self.error(&node, "<set-variable> has no value attribute"))?
                    .to_string(),
            }),
            "validate-client-certificate" => ElementKind::ValidateClientCertificate(self.validation(node, &path)?),
            "authentication-certificate" => ElementKind::AuthenticationCertificate(AuthenticationCertificate {
                certificate_id: node.attribute("certificate-id").map(str::to_string),
                thumbprint: node.attribute("thumbprint").map(str::to_string),
                body_present: node.attribute("body").is_some(),
                password_present: node.attribute("password").is_some(),
            }),
            "set-backend-service" => ElementKind::SetBackendService(super::routing::read(&node)),
            other => ElementKind::Other { name: other.to_string() },
        };
        Ok(Element { path, line, column, kind })
    }

    fn choose(&self, node: Node, path: &str) -> Result<Choose> {
        let mut whens = Vec::new();
        let mut otherwise: Option<Branch> = None;
        for child in child_elements(node) {
            let (line, column) = self.pos(&child);
            match name_of(&child) {
                "when" => {
                    if otherwise.is_some() {
                        return Err(self.error(&child, "<when> after <otherwise> in <choose>"));
                    }
                    let when_path = join(path, &format!("when[{}]", whens.len() + 1));
                    let condition = child
                        .attribute("condition")
                        .ok_or_else(|| self.error(&child, "<when> has no condition attribute"))?
                        .to_string();
                    let elements = self.elements(child_elements(child), &when_path)?;
                    whens.push(When { path: when_path, line, column, condition, elements });
                }
                "otherwise" => {
                    if otherwise.is_some() {
                        return Err(self.error(&child, "<choose> has more than one <otherwise>"));
                    }
                    let branch_path = join(path, "otherwise");
                    let elements = self.elements(child_elements(child), &branch_path)?;
                    otherwise = Some(Branch { path: branch_path, line, column, elements });
                }
                other => {
                    return Err(
                        self.error(&child, format!("<choose> may hold only <when> and <otherwise>, not <{other}>"))
                    )
                }
            }
        }
        if whens.is_empty() {
            return Err(self.error(&node, "<choose> has no <when>"));
        }
        Ok(Choose { whens, otherwise })
    }

    fn status_code(&self, node: &Node) -> Result<StatusCode> {
        let raw = node.attribute("code").ok_or_else(|| self.error(node, "<set-status> has no code attribute"))?;
        let trimmed = raw.trim();
        if trimmed.starts_with('@') || trimmed.contains("{{") {
            return Ok(StatusCode::Expression(trimmed.to_string()));
        }
        trimmed
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=999).contains(c))
            .map(StatusCode::Fixed)
            .ok_or_else(|| self.error(node, format!("<set-status> code {raw:?} is not an HTTP status code")))
    }

    fn set_status(&self, node: Node) -> Result<SetStatus> {
        Ok(SetStatus { code: self.status_code(&node)?, reason: node.attribute("reason").map(str::to_string) })
    }

    fn return_response(&self, node: Node) -> Result<ReturnResponse> {
        let set_status = child_elements(node).find(|c| name_of(c) == "set-status");
        let (status, reason) = match set_status {
            Some(s) => (Some(self.status_code(&s)?), s.attribute("reason").map(str::to_string)),
            None => (None, None),
        };
        Ok(ReturnResponse {
            status,
            reason,
            response_variable: node.attribute("response-variable-name").map(str::to_string),
        })
    }

    fn setting(&self, node: &Node, name: &str) -> Result<Option<Setting>> {
        let Some(raw) = node.attribute(name) else { return Ok(None) };
        let trimmed = raw.trim();
        if trimmed.starts_with('@') || trimmed.contains("{{") {
            return Ok(Some(Setting::Expression(trimmed.to_string())));
        }
        match trimmed.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(Setting::Fixed(true))),
            "false" => Ok(Some(Setting::Fixed(false))),
            _ => Err(self.error(node, format!("{name}={raw:?} is not true or false"))),
        }
    }

    fn validation(&self, node: Node, path: &str) -> Result<ClientCertificateValidation> {
        const KNOWN: [&str; 5] =
            ["validate-revocation", "validate-trust", "validate-not-before", "validate-not-after", "ignore-error"];
        let unknown_attributes =
            node.attributes().map(|a| a.name().to_string()).filter(|n| !KNOWN.contains(&n.as_str())).collect();
        let mut identities = Vec::new();
        for group in child_elements(node).filter(|c| name_of(c) == "identities") {
            for identity in child_elements(group).filter(|c| name_of(c) == "identity") {
                let (line, column) = self.pos(&identity);
                let id_path = join(path, &format!("identities/identity[{}]", identities.len() + 1));
                let attributes = identity
                    .attributes()
                    .map(|a| IdentityAttribute { name: a.name().to_string(), value: a.value().to_string() })
                    .collect();
                identities.push(Identity { path: id_path, line, column, attributes });
            }
        }
        Ok(ClientCertificateValidation {
            validate_revocation: self.setting(&node, "validate-revocation")?,
            validate_trust: self.setting(&node, "validate-trust")?,
            validate_not_before: self.setting(&node, "validate-not-before")?,
            validate_not_after: self.setting(&node, "validate-not-after")?,
            ignore_error: self.setting(&node, "ignore-error")?,
            identities,
            unknown_attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_expressions_are_escaped_and_positions_map_back() {
        let src = "<choose>\n  <when condition=\"@(a != \"x)\" && b < c)\">\n  <bad\n</choose>";
        let p = prepare(src).expect("should succeed");
        assert!(p.text.contains("condition=\"@(a != &quot;x)&quot; &amp;&amp; b &lt; c)\""), "{}", p.text);
        let err = parse(src, "p.xml").expect_err("should fail").to_string();
        // `<bad` opens at line 3, column 3 of the original; roxmltree fails on the line after.
        assert!(err.starts_with("p.xml:4:"), "{err}");
        let doc_pos = p.text.find("<bad").expect("should succeed");
        assert_eq!(line_col(src, p.to_orig(doc_pos)), (3, 3));
    }

    #[test]
    fn escaped_expressions_are_left_alone() {
        let src = "<when condition=\"@(a != &quot;x)&quot; &amp;&amp; b &lt; c)\"/>";
        let p = prepare(src).expect("should succeed");
        assert_eq!(p.text, src);
        let doc = Document::parse(&p.text).expect("should succeed");
        assert_eq!(doc.root_element().attribute("condition"), Some("@(a != \"x)\" && b < c)"));
    }

    #[test]
    fn verbatim_strings_and_braces() {
        let src = r#"<set-body>@{ return @"a "") }"; }</set-body>"#;
        let p = prepare(src).expect("should succeed");
        let doc = Document::parse(&p.text).expect("should succeed");
        assert_eq!(doc.root_element().text(), Some(r#"@{ return @"a "") }"; }"#));
    }

    #[test]
    fn unclosed_expression_names_its_start() {
        let err = parse("<a>\n <when condition=\"@(x == (\"/>\n</a>", "f.xml").expect_err("should fail").to_string();
        assert!(err.starts_with("f.xml:2:19:"), "{err}");
        assert!(err.contains("not closed"), "{err}");
    }

    #[test]
    fn non_ascii_text_and_attributes_survive() {
        let src = "<choose>\n <when condition=\"@(a == \"ü\")\"><return-response><set-body>Zugriff – verweigert ü</set-body></return-response></when>\n</choose>";
        let p = parse(src, "u.xml").expect("should succeed");
        let ElementKind::Choose(c) = &p.sections[0].elements[0].kind else { panic!("not a choose") };
        assert_eq!(c.whens[0].condition, "@(a == \"ü\")");
        let err = parse("<a>ü–\n <b>ä</c></a>", "u.xml").expect_err("should fail").to_string();
        assert!(err.starts_with("u.xml:2:"), "{err}");
    }

    #[test]
    fn several_top_level_elements_are_wrapped() {
        let p = parse("<base />\n<choose><when condition=\"true\"/></choose>", "x").expect("should succeed");
        assert_eq!(p.form, PolicyForm::Elements);
        assert_eq!(p.sections[0].elements.len(), 2);
        assert_eq!(p.sections[0].elements[1].path, "choose[1]");
        assert_eq!((p.sections[0].elements[1].line, p.sections[0].elements[1].column), (2, 1));
    }
}
