//! API Management policies: parse a policy document and work out what it answers for the client certificate actually presented.
//!
//! [`parse_policy`] reads the XML the portal shows (raw policy expressions with unescaped `"` and
//! `<` inside `@(…)`, or properly escaped XML) into a [`Policy`]. [`evaluate`] walks the inbound
//! section with a [`PolicyInput`] and returns a [`PolicyOutcome`]: the status the gateway answers,
//! the element and clause that decided it, and a trace of every certificate comparison the policy
//! makes, which is what the diagnosis explains a 403 from. Conditions are C# expressions; the
//! subset that certificate checks use is modelled exactly and anything else is reported as
//! [`Unevaluable`], never guessed.

mod checks;
mod csharp;
mod expr;
mod lookalike;
mod named;
mod refused;
mod routing;
mod validate;
mod walk;
mod xml;

use serde::{Deserialize, Serialize};

use crate::cert::CertInfo;
use crate::error::Result;

pub use checks::{CheckKind, CheckSite, CommentedCheck, CompileError, PolicyChecks, ThumbprintPin, TrustOff};
pub use lookalike::LookAlike;
pub use named::resolve_named_values;
pub use routing::{outbound_policy, BackendRoute, BackendRouting, OutboundPolicy, SetBackendService};
pub use walk::evaluate;

/// A parsed policy document. Holds no secrets: `authentication-certificate` bodies and passwords
/// are recorded only as present or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The file (or other source) the XML came from, for messages.
    pub origin: String,
    pub form: PolicyForm,
    pub sections: Vec<Section>,
    /// The document's XML comments, in order: a check that sits in one is not in force.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<PolicyComment>,
}

/// One XML comment (`<!-- … -->`) and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyComment {
    pub line: u32,
    pub text: String,
}

/// What the text was: a whole document, one or more sections, or bare policy elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyForm {
    /// `<policies>…</policies>`.
    Document,
    /// `<inbound>…</inbound>` (and siblings), or a `<fragment>`.
    Sections,
    /// Bare elements such as `<choose>`: treated as inbound content.
    Elements,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SectionRole {
    /// Runs on the request before the backend: where the client certificate is judged.
    Inbound,
    Backend,
    Outbound,
    OnError,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// The element name (`inbound`, `fragment`, …); empty for bare elements.
    pub name: String,
    pub role: SectionRole,
    pub line: u32,
    pub column: u32,
    pub elements: Vec<Element>,
}

/// One policy element with its place in the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Element {
    /// e.g. `inbound/choose[1]/when[2]/return-response[1]`.
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub kind: ElementKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "element", rename_all = "kebab-case")]
pub enum ElementKind {
    Base,
    Choose(Choose),
    ReturnResponse(ReturnResponse),
    SetStatus(SetStatus),
    /// `<set-variable name=… value=…>`: sets `context.Variables[name]` in document order.
    SetVariable(SetVariable),
    ValidateClientCertificate(ClientCertificateValidation),
    AuthenticationCertificate(AuthenticationCertificate),
    /// `<set-backend-service>`: read for which backend entity requests go through.
    SetBackendService(SetBackendService),
    /// Any other policy: listed, not evaluated.
    Other {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choose {
    pub whens: Vec<When>,
    pub otherwise: Option<Branch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct When {
    pub path: String,
    pub line: u32,
    pub column: u32,
    /// The attribute value as the gateway sees it (XML entities decoded), e.g. `@(…)`.
    pub condition: String,
    pub elements: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub elements: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnResponse {
    /// From `<set-status code=…>`; `None` means the gateway's default, 200.
    pub status: Option<StatusCode>,
    pub reason: Option<String>,
    /// `response-variable-name`: the response comes from a variable set earlier.
    pub response_variable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetVariable {
    pub name: String,
    /// A literal, or a policy expression `@(…)` / `@{…}`.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetStatus {
    pub code: StatusCode,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum StatusCode {
    Fixed(u16),
    /// A policy expression (`@(…)`), not evaluated.
    Expression(String),
}

/// A boolean attribute that may also be written as a policy expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Setting {
    Fixed(bool),
    Expression(String),
}

/// `<validate-client-certificate>`; `None` settings take the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCertificateValidation {
    /// Default true.
    pub validate_revocation: Option<Setting>,
    /// Default true.
    pub validate_trust: Option<Setting>,
    /// Default true.
    pub validate_not_before: Option<Setting>,
    /// Default true.
    pub validate_not_after: Option<Setting>,
    /// Default false.
    pub ignore_error: Option<Setting>,
    pub identities: Vec<Identity>,
    /// Attributes this tool does not know; reported, never guessed at.
    pub unknown_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub path: String,
    pub line: u32,
    pub column: u32,
    /// In document order: `thumbprint`, `serial-number`, `common-name`, `subject`, `dns-name`,
    /// `issuer-subject`, `issuer-thumbprint`, `issuer-certificate-id` (or unknown names).
    pub attributes: Vec<IdentityAttribute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityAttribute {
    pub name: String,
    pub value: String,
}

/// `<authentication-certificate>`: which certificate the gateway presents to the backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationCertificate {
    pub certificate_id: Option<String>,
    pub thumbprint: Option<String>,
    /// An inline PFX (`body`): its content is a secret and is not kept.
    pub body_present: bool,
    pub password_present: bool,
}

/// Parse a policy: a `<policies>` document, a section such as `<inbound>`, or bare elements such
/// as `<choose>`. Raw policy expressions (`condition="@(… "literal" …)"`, as the portal's editor
/// shows them) are accepted as well as escaped ones. Malformed XML is an [`crate::Error::Input`]
/// whose origin is `origin:line:column`.
pub fn parse_policy(xml: &str, origin: &str) -> Result<Policy> {
    xml::parse(xml, origin)
}

/// Read and parse a policy file, capped at [`crate::fsio::POLICY_CAP`]; errors name the file.
pub fn load_policy_file(path: &std::path::Path) -> Result<Policy> {
    load_policy_file_with(path, &[])
}

/// [`load_policy_file`] with named values (`{{name}}`) substituted first, as the gateway does.
pub fn load_policy_file_with(path: &std::path::Path, named_values: &[(String, String)]) -> Result<Policy> {
    let text = crate::fsio::read_text_capped(path, crate::fsio::POLICY_CAP)?;
    parse_policy(&resolve_named_values(&text, named_values), &path.display().to_string())
}

/// What evaluation knows about the request.
#[derive(Debug, Clone)]
pub struct PolicyInput<'a> {
    /// What the client presented; `None` is `context.Request.Certificate == null`.
    pub cert: Option<&'a CertInfo>,
    /// What `X509Certificate2.Verify()` returns (chain to the uploaded CA certificates, with
    /// revocation), as computed by the caller; `None` when unknown.
    pub verify_ok: Option<bool>,
    /// The same without revocation checking (`VerifyNoRevocation()`).
    pub verify_no_revocation_ok: Option<bool>,
    /// How the revocation part of `Verify()` ends (from [`crate::revocation::verify_answer`]), to
    /// explain a `Verify()` that differs from `VerifyNoRevocation()` or is not known offline.
    pub revocation: Option<&'a crate::revocation::VerifyRevocationAnswer>,
    /// SHA-1 thumbprint of the issuing CA when known (identity `issuer-thumbprint`).
    pub issuer_thumbprint: Option<String>,
    /// `context.Deployment.Certificates`: the service's certificate entities (the Certificates
    /// blade, ARM `service/certificates`), keyed by id — not the CA certificates `Verify()` trusts.
    /// `None` when no source for them was given (then reading them is not evaluable).
    pub deployment_certificates: Option<Vec<DeploymentCertificate>>,
    /// The request's headers when known, e.g. from a probe's `-H`; `None` when not known (then
    /// reading one is not evaluable). Values stay in memory: never recorded, redacted in Debug.
    pub headers: Option<Vec<crate::probe::Header>>,
    /// `DateTime.UtcNow` (and `DateTime.Now`: gateways run on UTC).
    pub now: time::OffsetDateTime,
    /// Certificates put in a request header with `--forward-cert`, judged against the uploaded CA
    /// certificates like a presented one: what `Verify()` / `VerifyNoRevocation()` answer on a
    /// certificate the policy builds from that header. Empty when none was forwarded.
    pub forwarded: Vec<ForwardedVerify<'a>>,
    /// `context.Request.Body`: the bytes a probe sent with `--data`, none, or not known.
    pub body: BodyInput<'a>,
}

/// Nothing known but the clock: no certificate, no chain verdict, headers, body or entities. Tests
/// and callers name what they know and take the rest from here.
impl Default for PolicyInput<'_> {
    fn default() -> Self {
        PolicyInput {
            cert: None,
            verify_ok: None,
            verify_no_revocation_ok: None,
            revocation: None,
            issuer_thumbprint: None,
            deployment_certificates: None,
            headers: None,
            now: time::OffsetDateTime::now_utc(),
            forwarded: Vec::new(),
            body: BodyInput::Unknown,
        }
    }
}

/// What the evaluator knows of the request body. The bytes stay in memory: never recorded, and
/// Debug shows only their length.
#[derive(Clone, Copy, Default)]
pub enum BodyInput<'a> {
    /// Not known here: `inspect`, or a replayed session whose body was not given again.
    #[default]
    Unknown,
    /// The request has no body (a probe without `--data`).
    Absent,
    /// The body a probe sent.
    Known(&'a [u8]),
}

impl std::fmt::Debug for BodyInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyInput::Unknown => f.write_str("Unknown"),
            BodyInput::Absent => f.write_str("Absent"),
            BodyInput::Known(b) => write!(f, "Known({} bytes)", b.len()),
        }
    }
}

/// `Verify()` and `VerifyNoRevocation()` of a forwarded certificate (found by its thumbprint).
#[derive(Debug, Clone)]
pub struct ForwardedVerify<'a> {
    /// The header it was sent in.
    pub header: String,
    /// Uppercase SHA-1 of the DER.
    pub thumbprint: String,
    pub verify_ok: Option<bool>,
    pub verify_no_revocation_ok: Option<bool>,
    pub revocation: Option<&'a crate::revocation::VerifyRevocationAnswer>,
}

/// One entry of `context.Deployment.Certificates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentCertificate {
    /// The key: the certificate id (`certificate-id="…"`, `issuer-certificate-id="…"`).
    pub id: String,
    /// `Value.Thumbprint`: uppercase SHA-1 hex.
    pub thumbprint: String,
    /// The certificate is a CA certificate (basic constraints CA:TRUE); false when not known.
    pub is_ca: bool,
}

/// Why `context.Deployment.Certificates` (and `issuer-certificate-id`) cannot be evaluated.
pub(crate) const DEPLOYMENT_UNKNOWN: &str = "context.Deployment.Certificates holds the service's certificate \
entities (the Certificates blade), which were not given: use --deployment-cert ID=FILE or an --azure certificate export";

/// What the policy does with this request, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyOutcome {
    /// What the gateway answers as far as the policy decides: 200 when the request passes through
    /// inbound, the `return-response` status, 403 for a failed `validate-client-certificate`, 500
    /// for an exception in an expression. 0 when `determined` is false.
    pub status: u16,
    /// False when something unevaluable stood on the path that decides (see `unevaluable`).
    pub determined: bool,
    /// Human path to the element or clause that decided, e.g.
    /// `inbound/choose[1]/when[1] condition clause 3: context.Request.Certificate.Thumbprint != "AB…"`.
    /// `None` when the request passed through inbound.
    pub decided_by: Option<String>,
    /// Every element evaluated, in execution order.
    pub elements: Vec<ElementResult>,
    /// Every comparison of a certificate property with a literal (or an uploaded certificate's
    /// thumbprint, or a date), including those C# short-circuits (`evaluated: false`).
    pub comparisons: Vec<Comparison>,
    /// Every `Verify()` / `VerifyNoRevocation()` call.
    pub verify_calls: Vec<VerifyCall>,
    /// `context.LastError` when a policy failed (a `validate-client-certificate` with
    /// `ignore-error="false"`): what the on-error section sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    /// `validate-client-certificate` identities: one entry per identity attribute.
    pub identity_checks: Vec<IdentityCheck>,
    pub unevaluable: Vec<Unevaluable>,
    /// Every `authentication-certificate` in the document, evaluated or not.
    pub authentication_certificates: Vec<AuthCertRef>,
    /// `<set-backend-service>` elements and `<base/>` inheritance: which backend entity the
    /// requests go through, as far as this document decides.
    #[serde(default)]
    pub backend_routing: BackendRouting,
    pub notes: Vec<String>,
    /// The certificate checks the document makes, whatever this request does.
    #[serde(default, skip_serializing_if = "PolicyChecks::is_empty")]
    pub checks: PolicyChecks,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElementResult {
    /// The element name: `choose`, `when`, `validate-client-certificate`, …
    pub kind: String,
    pub path: String,
    pub outcome: ElementOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum ElementOutcome {
    /// `<base/>`: the inherited scope's policies are not part of this document.
    NotEvaluated {
        reason: String,
    },
    /// A `when` condition: its value and the clause that decided it (1-based).
    Condition {
        value: bool,
        deciding_clause: Option<usize>,
        clauses: usize,
    },
    /// A `choose`: the branch taken (`when[2]`, `otherwise`), or none.
    Branch {
        taken: Option<String>,
    },
    /// `return-response` (or `set-status` in on-error).
    Response {
        status: u16,
        reason: Option<String>,
    },
    CertificateAccepted,
    CertificateRejected {
        failures: Vec<ValidationFailure>,
        ignored: bool,
    },
    /// `authentication-certificate` or `set-backend-service`: noted for the backend call.
    Recorded,
    /// An element this tool does not evaluate.
    Skipped,
    /// The expression threw, e.g. `NullReferenceException`.
    Exception {
        exception: String,
        fragment: String,
    },
    Unevaluable,
}

/// Why `validate-client-certificate` rejected the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "failure", rename_all = "kebab-case")]
pub enum ValidationFailure {
    NoCertificate,
    /// The chain does not build to an uploaded CA (`revocation_checked`: with revocation on).
    ChainNotTrusted {
        revocation_checked: bool,
    },
    /// The chain builds, but the revocation check fails (revoked, or the CRL cannot be fetched).
    RevocationCheckFailed,
    NotYetValid {
        not_before: String,
    },
    Expired {
        not_after: String,
    },
    NoIdentityMatched {
        identities: usize,
    },
}

/// One comparison of a certificate property with a value the policy supplies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// Element path of the condition.
    pub path: String,
    /// Top-level clause number (1-based) and its text.
    pub clause: usize,
    pub clause_text: String,
    /// `Thumbprint`, `Issuer`, `Subject`, `SubjectName.Name`, `IssuerName.Name`, `SerialNumber`,
    /// `NotBefore`, `NotAfter`, or `Certificate` (a null test).
    pub property: String,
    /// `==`, `!=`, `<`, `>`, `<=`, `>=`, `Equals`, `string.Equals`, `StartsWith`, `EndsWith`, `Contains`.
    pub operator: String,
    /// True when the property is the left operand (or the method's receiver).
    pub property_is_left: bool,
    /// The other side exactly as written, after C# unescaping: invisible characters are kept.
    /// For a date, the expression text (`DateTime.UtcNow.AddDays(30)`); for a null test, `null`.
    pub literal: String,
    /// `literal`, `deployment certificate N` (context.Deployment.Certificates), `DateTime.UtcNow`,
    /// `DateTime.Now`, or `null`.
    pub literal_source: String,
    /// The certificate's value; `None` when there is no certificate.
    pub actual: Option<String>,
    /// The values actually compared, after `ToUpper()`, `Trim()`, `AddDays()` and the like.
    pub compared_literal: String,
    pub compared_actual: Option<String>,
    /// Transformations applied, e.g. `literal.ToUpper()`, `Thumbprint.Trim()`.
    pub transforms: Vec<String>,
    /// The value of the comparison expression (for `!=`, true when they differ).
    pub result: bool,
    pub case_insensitive: bool,
    /// False when C# short-circuiting skipped it; computed here only to explain.
    pub evaluated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyCall {
    pub path: String,
    pub clause: usize,
    /// `Verify` or `VerifyNoRevocation`.
    pub method: String,
    pub result: bool,
    pub evaluated: bool,
    /// For `Verify()` false while the chain itself verifies: why the revocation check fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<String>,
    /// Called on a certificate the policy built from this request header (`--forward-cert`),
    /// not on `context.Request.Certificate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<String>,
}

/// `context.LastError` as the gateway sets it when a policy fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// The failing element, e.g. `validate-client-certificate`.
    pub source: String,
    /// `context.LastError.Reason`, e.g. `ClientCertificateNotTrusted`; `None` when the gateway's
    /// reason for this failure is not known (then `reason_unknown` says why).
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_unknown: Option<String>,
}

/// One attribute of one `<identity>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityCheck {
    /// Path of the `<identity>`.
    pub path: String,
    /// 1-based position among the identities.
    pub identity: usize,
    pub attribute: String,
    pub expected: String,
    pub actual: Option<String>,
    /// `None` when the actual value is not known here.
    pub matched: Option<bool>,
    /// How the values were compared, e.g. `ordinal`, `hex, ignoring case`.
    pub comparison: String,
}

/// Something on the evaluated path that this tool does not model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unevaluable {
    pub path: String,
    pub clause: Option<usize>,
    /// The exact unsupported text.
    pub fragment: String,
    pub why: String,
}

/// Where the gateway is told which certificate to present to the backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthCertRef {
    pub path: String,
    pub certificate_id: Option<String>,
    pub thumbprint: Option<String>,
    pub body_present: bool,
    pub password_present: bool,
}

/// A `<choose>` block that rejects every certificate but the given one: null test, validity
/// dates, the thumbprint (uppercase hex, as `X509Certificate2.Thumbprint` prints it) and the
/// issuer in .NET form, both as C# literals with quotes and invisible characters escaped.
pub fn thumbprint_literal_snippet(thumbprint: &str, issuer: &str) -> String {
    let thumbprint = csharp_string_literal(&crate::cert::normalize_thumbprint(thumbprint));
    let issuer = csharp_string_literal(issuer);
    format!(
        r#"<choose>
    <when condition="@(context.Request.Certificate == null
        || context.Request.Certificate.NotBefore > DateTime.UtcNow
        || context.Request.Certificate.NotAfter < DateTime.UtcNow
        || context.Request.Certificate.Thumbprint != {thumbprint}
        || context.Request.Certificate.Issuer != {issuer})">
        <return-response>
            <set-status code="403" reason="Client certificate not accepted" />
        </return-response>
    </when>
</choose>
"#
    )
}

/// `s` as a C# regular string literal, quotes included. Control and invisible characters
/// (U+200E and friends) are written as `\uXXXX` so they can be seen.
pub fn csharp_string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if is_invisible(c) => {
                let code = u32::from(c);
                if code > 0xFFFF {
                    out.push_str(&format!("\\U{code:08X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters that do not show, or show as an ordinary space, and so survive a copy and paste unseen.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00A0}'
                | '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{2000}'..='\u{200F}'
                | '\u{2028}'..='\u{202F}'
                | '\u{205F}'..='\u{206F}'
                | '\u{3000}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}
