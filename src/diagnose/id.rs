//! The finding ids: one enum variant per catalog entry, each with the kebab-case string reports,
//! sessions and users' scripts rely on. A typo is a compile error, never a silent fallback.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares the enum and its string table together, so the two cannot drift apart.
macro_rules! finding_ids {
    ($($variant:ident => $id:literal,)*) => {
        /// A stable finding id. Serialized as its kebab-case string; ids are a contract, never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FindingId {
            $($variant,)*
        }

        impl FindingId {
            /// Every id, in catalog order.
            pub const ALL: &'static [FindingId] = &[$(FindingId::$variant,)*];

            /// The kebab-case id, as reports and sessions spell it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(FindingId::$variant => $id,)*
                }
            }
        }

        impl FromStr for FindingId {
            type Err = UnknownFindingId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($id => Ok(FindingId::$variant),)*
                    _ => Err(UnknownFindingId(s.to_string())),
                }
            }
        }
    };
}

finding_ids! {
    GatewayRequestedCertLate => "gateway-requested-cert-late",
    GatewayDidNotRequestCert => "gateway-did-not-request-cert",
    AzureNegotiationOff => "azure-negotiation-off",
    GatewayDefaultHostname => "gateway-default-hostname",
    AzureHostnameNotConfigured => "azure-hostname-not-configured",
    ClientCertMissing => "client-cert-missing",
    ClientKeySchemeMismatch => "client-key-scheme-mismatch",
    ClientCertCaNotAcceptable => "client-cert-ca-not-acceptable",
    GatewayRejectedClientCert => "gateway-rejected-client-cert",
    CertNoPrivateKey => "cert-no-private-key",
    CertKeyMismatch => "cert-key-mismatch",
    CertExpired => "cert-expired",
    CertNotYetValid => "cert-not-yet-valid",
    CertMissingClientAuthEku => "cert-missing-client-auth-eku",
    ClientChainUntrusted => "client-chain-untrusted",
    ClientChainViaAia => "client-chain-via-aia",
    AzureCaNotUploaded => "azure-ca-not-uploaded",
    CertSelfSigned => "cert-self-signed",
    CertExpiringSoon => "cert-expiring-soon",
    PolicyRejects => "policy-rejects",
    PolicyRevocationUnknown => "policy-revocation-unknown",
    ThumbprintInvisibleChar => "thumbprint-invisible-char",
    ThumbprintWhitespace => "thumbprint-whitespace",
    ThumbprintCase => "thumbprint-case",
    ThumbprintIsIssuer => "thumbprint-is-issuer",
    ThumbprintMismatch => "thumbprint-mismatch",
    IssuerOrder => "issuer-order",
    IssuerMismatch => "issuer-mismatch",
    Http403AfterHandshake => "http-403-after-handshake",
    PolicyUnevaluable => "policy-unevaluable",
    BackendRequiresClientCert => "backend-requires-client-cert",
    BackendDistrustsClientCa => "backend-distrusts-client-ca",
    BackendCertUntrusted => "backend-cert-untrusted",
    BackendCertNameMismatch => "backend-cert-name-mismatch",
    BackendTlsIncompatible => "backend-tls-incompatible",
    BackendUnreachable => "backend-unreachable",
    Gateway502 => "gateway-502",
    AzureBackendNoClientCert => "azure-backend-no-client-cert",
    ServerCertUntrusted => "server-cert-untrusted",
    ServerCertNameMismatch => "server-cert-name-mismatch",
    ServerCertExpired => "server-cert-expired",
    ServerChainIncomplete => "server-chain-incomplete",
    GatewayUnreachable => "gateway-unreachable",
    ProxyRefusedConnect => "proxy-refused-connect",
    TlsHandshakeFailed => "tls-handshake-failed",
    GatewayPlainHttpOnTlsPort => "gateway-plain-http-on-tls-port",
    KvNoIdentity => "kv-no-identity",
    KvRoleMissing => "kv-role-missing",
    KvSyncFailed => "kv-sync-failed",
    KvVersionedSecret => "kv-versioned-secret",
    ServerCertNotYetValid => "server-cert-not-yet-valid",
    ClientChainIncomplete => "client-chain-incomplete",
    ChainOutOfOrder => "chain-out-of-order",
    ChainIncludesRoot => "chain-includes-root",
    CertSha1Signature => "cert-sha1-signature",
    CertClientIsCa => "cert-client-is-ca",
    CaListTooLarge => "ca-list-too-large",
    PortalRequestsCert => "portal-requests-cert",
    KvCertificateUrl => "kv-certificate-url",
    KvRotationPending => "kv-rotation-pending",
    AzureCaReplaced => "azure-ca-replaced",
    AzureAuthCertNotFound => "azure-auth-cert-not-found",
    AzureKvCertByThumbprint => "azure-kv-cert-by-thumbprint",
    AzureBackendCertNotFound => "azure-backend-cert-not-found",
    CertNameDiffersOnLinux => "cert-name-differs-on-linux",
    ClosedAfterRequest => "closed-after-request",
    Http403ClientCert => "http-403-client-cert",
    AzureBackendCertNotRouted => "azure-backend-cert-not-routed",
    PolicyNameCheckWithoutChain => "policy-name-check-without-chain",
    PolicyTrustOff => "policy-trust-off",
    PolicyPinsCaThumbprint => "policy-pins-ca-thumbprint",
    PolicyCheckCommentedOut => "policy-check-commented-out",
    PolicyNotSaveable => "policy-not-saveable",
}

/// A string that names no finding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding id {0:?}")]
pub struct UnknownFindingId(pub String);

impl Serialize for FindingId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// By hand rather than derived: an unknown id then reads as one short line, not a list of all 45.
impl<'de> Deserialize<'de> for FindingId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers compare with the string form (`f.id == "cert-expired"`).
impl PartialEq<str> for FindingId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FindingId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl FindingId {
    /// The certificate findings (`cert-*`), which say the same of a certificate whichever probe saw it.
    pub fn is_certificate(self) -> bool {
        self.as_str().starts_with("cert-")
    }
}

/// Ids as prose lists them: `a, b, c`.
pub fn join_ids(ids: &[FindingId]) -> String {
    ids.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", ")
}
