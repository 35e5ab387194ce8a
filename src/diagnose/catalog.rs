//! The catalog of finding ids: for each, its symptom, default severity, title, field-guide step and
//! rank (lower = more likely the root cause, listed first). Ids are a contract; never rename one.
//! Entries follow `FindingId`'s order, one each; the crate does not compile otherwise.

use super::finding::{Finding, Severity, Symptom};
use super::id::FindingId;

pub struct Entry {
    pub id: FindingId,
    pub symptom: Symptom,
    pub severity: Severity,
    pub title: &'static str,
    pub guide: &'static str,
    pub rank: u16,
}

/// Each guide step names the section of docs/findings.md that explains it in our words.
const G_NEGOTIATE: &str =
    "Step 1: enable client certificate negotiation on the custom domain (docs/findings.md#guide-negotiate)";
const G_TIER_DOMAIN: &str = "Prerequisites: service tier and custom domain (docs/findings.md#guide-tier-domain)";
const G_CA_UPLOAD: &str = "Step 1: upload the CA certificate (docs/findings.md#guide-ca-upload)";
const G_CERTS: &str = "Prerequisites: certificates and certificate authority (docs/findings.md#guide-certs)";
const G_POLICY: &str = "Step 2: validate client certificates in the inbound policy (docs/findings.md#guide-policy)";
const G_VERIFY: &str = "Step 2: validate the chain against the uploaded CA (Verify()) (docs/findings.md#guide-verify)";
const G_403: &str = "Troubleshooting: 403 although the certificate looks right (docs/findings.md#guide-403)";
const G_OUTBOUND: &str = "Step 3: outbound certificate on the backend entity or authentication-certificate policy (docs/findings.md#guide-outbound)";
const G_502: &str = "Troubleshooting: TLS handshake failures on outbound calls (502) (docs/findings.md#guide-502)";
const G_KV: &str = "Prerequisites: Key Vault access and managed identity (docs/findings.md#guide-kv)";
const G_ROTATE: &str = "Wrap-up: rotate certificates before they expire (docs/findings.md#guide-rotate)";

use Severity::{Error as E, Info as I, Warning as W};
use Symptom::*;

pub const CATALOG: &[Entry] = &[
    // null certificate
    Entry {
        id: FindingId::GatewayRequestedCertLate,
        symptom: NullCertificate,
        severity: E,
        title: "The gateway asks for the client certificate only after the request arrives",
        guide: G_NEGOTIATE,
        rank: 9,
    },
    Entry {
        id: FindingId::GatewayDidNotRequestCert,
        symptom: NullCertificate,
        severity: E,
        title: "The gateway did not ask for a client certificate on this hostname",
        guide: G_NEGOTIATE,
        rank: 10,
    },
    Entry {
        id: FindingId::AzureNegotiationOff,
        symptom: NullCertificate,
        severity: E,
        title: "Negotiate client certificate is off for the hostname called",
        guide: G_NEGOTIATE,
        rank: 11,
    },
    Entry {
        id: FindingId::GatewayDefaultHostname,
        symptom: NullCertificate,
        severity: W,
        title: "The default *.azure-api.net hostname is being called",
        guide: G_TIER_DOMAIN,
        rank: 12,
    },
    Entry {
        id: FindingId::AzureHostnameNotConfigured,
        symptom: NullCertificate,
        severity: W,
        title: "The hostname called is not configured on the service",
        guide: G_TIER_DOMAIN,
        rank: 13,
    },
    Entry {
        id: FindingId::ClientCertMissing,
        symptom: NullCertificate,
        severity: E,
        title: "The gateway asked for a client certificate and none was sent",
        guide: G_CERTS,
        rank: 20,
    },
    Entry {
        id: FindingId::ClientKeySchemeMismatch,
        symptom: NullCertificate,
        severity: E,
        title: "The client key cannot sign with any scheme the server accepts",
        guide: G_CERTS,
        rank: 21,
    },
    Entry {
        id: FindingId::ClientCertCaNotAcceptable,
        symptom: NullCertificate,
        severity: W,
        title: "The client certificate's issuer is not among the CA names the server accepts",
        guide: G_CA_UPLOAD,
        rank: 23,
    },
    // TLS-level rejection inbound
    Entry {
        id: FindingId::GatewayRejectedClientCert,
        symptom: Tls,
        severity: E,
        title: "The server rejected the client certificate during the TLS handshake",
        guide: G_CA_UPLOAD,
        rank: 22,
    },
    // certificate checks
    Entry {
        id: FindingId::CertNoPrivateKey,
        symptom: Tls,
        severity: E,
        title: "The certificate file has no private key",
        guide: G_CERTS,
        rank: 30,
    },
    Entry {
        id: FindingId::CertKeyMismatch,
        symptom: Tls,
        severity: E,
        title: "The private key does not belong to the certificate",
        guide: G_CERTS,
        rank: 31,
    },
    Entry {
        id: FindingId::CertExpired,
        symptom: Expiry,
        severity: E,
        title: "The certificate has expired",
        guide: G_ROTATE,
        rank: 32,
    },
    Entry {
        id: FindingId::CertNotYetValid,
        symptom: Expiry,
        severity: E,
        title: "The certificate is not valid yet",
        guide: G_ROTATE,
        rank: 33,
    },
    Entry {
        id: FindingId::CertMissingClientAuthEku,
        symptom: Forbidden403,
        severity: E,
        title: "The certificate is not allowed for client authentication (EKU)",
        guide: G_CERTS,
        rank: 34,
    },
    Entry {
        id: FindingId::ClientChainUntrusted,
        symptom: Forbidden403,
        severity: E,
        title: "Verify() would fail: the client chain does not lead to an uploaded CA certificate",
        guide: G_VERIFY,
        rank: 35,
    },
    Entry {
        id: FindingId::ClientChainViaAia,
        symptom: Forbidden403,
        severity: W,
        title: "The client chain is complete only with an issuer downloaded from its caIssuers URL",
        guide: G_VERIFY,
        rank: 36,
    },
    Entry {
        id: FindingId::AzureCaNotUploaded,
        symptom: Forbidden403,
        severity: E,
        title: "The client chain's root is not among the service's CA certificates",
        guide: G_CA_UPLOAD,
        rank: 36,
    },
    Entry {
        id: FindingId::CertSelfSigned,
        symptom: Forbidden403,
        severity: W,
        title: "The certificate is self-signed",
        guide: G_CERTS,
        rank: 37,
    },
    Entry {
        id: FindingId::CertExpiringSoon,
        symptom: Expiry,
        severity: W,
        title: "The certificate expires soon",
        guide: G_ROTATE,
        rank: 90,
    },
    // 403 / policy
    Entry {
        id: FindingId::PolicyRejects,
        symptom: Forbidden403,
        severity: E,
        title: "The policy refuses the request for this certificate",
        guide: G_POLICY,
        rank: 40,
    },
    Entry {
        id: FindingId::PolicyRevocationUnknown,
        symptom: Forbidden403,
        severity: E,
        title: "Verify() / validate-revocation fails on the revocation check, not on the chain",
        guide: G_VERIFY,
        rank: 39,
    },
    Entry {
        id: FindingId::ThumbprintInvisibleChar,
        symptom: Forbidden403,
        severity: E,
        title: "The thumbprint literal contains an invisible character",
        guide: G_403,
        rank: 41,
    },
    Entry {
        id: FindingId::ThumbprintWhitespace,
        symptom: Forbidden403,
        severity: E,
        title: "The thumbprint literal contains spaces or separators",
        guide: G_403,
        rank: 42,
    },
    Entry {
        id: FindingId::ThumbprintCase,
        symptom: Forbidden403,
        severity: E,
        title: "The thumbprint literal is not in uppercase",
        guide: G_403,
        rank: 43,
    },
    Entry {
        id: FindingId::ThumbprintIsIssuer,
        symptom: Forbidden403,
        severity: E,
        title: "The thumbprint literal is the issuing CA's, not the client certificate's",
        guide: G_403,
        rank: 44,
    },
    Entry {
        id: FindingId::ThumbprintMismatch,
        symptom: Forbidden403,
        severity: E,
        title: "The thumbprint literal does not match the certificate presented",
        guide: G_403,
        rank: 45,
    },
    Entry {
        id: FindingId::IssuerOrder,
        symptom: Forbidden403,
        severity: E,
        title: "The issuer/subject literal has the right parts in the wrong form",
        guide: G_403,
        rank: 46,
    },
    Entry {
        id: FindingId::IssuerMismatch,
        symptom: Forbidden403,
        severity: E,
        title: "The issuer/subject literal does not match the certificate presented",
        guide: G_403,
        rank: 47,
    },
    Entry {
        id: FindingId::Http403AfterHandshake,
        symptom: Forbidden403,
        severity: W,
        title: "The gateway accepted the handshake, then answered 403",
        guide: G_POLICY,
        rank: 48,
    },
    Entry {
        id: FindingId::PolicyUnevaluable,
        symptom: Forbidden403,
        severity: I,
        title: "Part of the policy could not be evaluated",
        guide: G_POLICY,
        rank: 95,
    },
    // 502 / outbound
    Entry {
        id: FindingId::BackendRequiresClientCert,
        symptom: BadGateway502,
        severity: E,
        title: "The backend requires a client certificate and none was presented",
        guide: G_OUTBOUND,
        rank: 50,
    },
    Entry {
        id: FindingId::BackendDistrustsClientCa,
        symptom: BadGateway502,
        severity: E,
        title: "The backend does not trust the CA that signed the gateway's certificate",
        guide: G_502,
        rank: 51,
    },
    Entry {
        id: FindingId::BackendCertUntrusted,
        symptom: BadGateway502,
        severity: E,
        title: "The backend's certificate chain is not trusted",
        guide: G_502,
        rank: 52,
    },
    Entry {
        id: FindingId::BackendCertNameMismatch,
        symptom: BadGateway502,
        severity: E,
        title: "The backend's certificate does not match its host name",
        guide: G_502,
        rank: 53,
    },
    Entry {
        id: FindingId::BackendTlsIncompatible,
        symptom: BadGateway502,
        severity: E,
        title: "No common TLS version or cipher with the backend",
        guide: G_502,
        rank: 54,
    },
    Entry {
        id: FindingId::BackendUnreachable,
        symptom: BadGateway502,
        severity: E,
        title: "The backend cannot be reached",
        guide: G_502,
        rank: 55,
    },
    Entry {
        id: FindingId::Gateway502,
        symptom: BadGateway502,
        severity: W,
        title: "The gateway answered 502/500: its call to the backend failed",
        guide: G_502,
        rank: 56,
    },
    Entry {
        id: FindingId::AzureBackendNoClientCert,
        symptom: BadGateway502,
        severity: E,
        title: "The backend entity presents no client certificate",
        guide: G_OUTBOUND,
        rank: 57,
    },
    // server side
    Entry {
        id: FindingId::ServerCertUntrusted,
        symptom: Tls,
        severity: E,
        title: "The server's certificate chain is not trusted",
        guide: G_CERTS,
        rank: 60,
    },
    Entry {
        id: FindingId::ServerCertNameMismatch,
        symptom: Tls,
        severity: E,
        title: "The server's certificate does not match the name called",
        guide: G_CERTS,
        rank: 61,
    },
    Entry {
        id: FindingId::ServerCertExpired,
        symptom: Expiry,
        severity: E,
        title: "The server's certificate has expired",
        guide: G_ROTATE,
        rank: 62,
    },
    Entry {
        id: FindingId::ServerChainIncomplete,
        symptom: Tls,
        severity: W,
        title: "The server does not send its intermediate certificate",
        guide: G_CERTS,
        rank: 63,
    },
    Entry {
        id: FindingId::GatewayUnreachable,
        // A refused or silent port is a connection problem; the rule says `dns` when the name does not resolve.
        symptom: Tls,
        severity: E,
        title: "The gateway cannot be reached",
        guide: G_TIER_DOMAIN,
        rank: 64,
    },
    Entry {
        id: FindingId::ProxyRefusedConnect,
        // The proxy, not the target, stopped the connection: no TLS was attempted.
        symptom: Tls,
        severity: E,
        title: "The HTTP proxy did not open a tunnel to the target",
        guide: G_TIER_DOMAIN,
        rank: 64,
    },
    Entry {
        id: FindingId::TlsHandshakeFailed,
        symptom: Tls,
        severity: E,
        title: "The TLS handshake failed",
        guide: G_CERTS,
        rank: 65,
    },
    Entry {
        id: FindingId::GatewayPlainHttpOnTlsPort,
        symptom: Tls,
        severity: E,
        title: "The port answers plain HTTP, not TLS",
        guide: G_TIER_DOMAIN,
        rank: 63,
    },
    // Key Vault and configuration
    Entry {
        id: FindingId::KvNoIdentity,
        symptom: KeyVault,
        severity: E,
        title: "The service has no managed identity to read Key Vault with",
        guide: G_KV,
        rank: 70,
    },
    Entry {
        id: FindingId::KvRoleMissing,
        symptom: KeyVault,
        severity: E,
        title: "The service's identity has no role that reads the vault's secrets",
        guide: G_KV,
        rank: 71,
    },
    Entry {
        id: FindingId::KvSyncFailed,
        symptom: KeyVault,
        severity: E,
        title: "The gateway could not fetch the certificate from Key Vault",
        guide: G_KV,
        rank: 72,
    },
    Entry {
        id: FindingId::KvVersionedSecret,
        symptom: KeyVault,
        severity: I,
        title: "The Key Vault reference is pinned to a version: auto-rotation is off",
        guide: G_KV,
        rank: 96,
    },
    // Reading the chains (issue 10)
    Entry {
        id: FindingId::ServerCertNotYetValid,
        symptom: Expiry,
        severity: E,
        title: "A certificate in the server's chain is not valid yet",
        guide: G_ROTATE,
        rank: 62,
    },
    Entry {
        id: FindingId::ClientChainIncomplete,
        symptom: Tls,
        severity: E,
        title: "The client sends its leaf without the intermediate the server needs",
        guide: G_CERTS,
        rank: 23,
    },
    Entry {
        id: FindingId::ChainOutOfOrder,
        symptom: Tls,
        severity: I,
        title: "The certificate chain is sent out of order",
        guide: G_CERTS,
        rank: 90,
    },
    Entry {
        id: FindingId::ChainIncludesRoot,
        symptom: Tls,
        severity: I,
        title: "The certificate chain includes its root",
        guide: G_CERTS,
        rank: 91,
    },
    Entry {
        id: FindingId::CertSha1Signature,
        symptom: Tls,
        severity: W,
        title: "The certificate is signed with SHA-1",
        guide: G_CERTS,
        rank: 34,
    },
    Entry {
        id: FindingId::CertClientIsCa,
        symptom: Tls,
        severity: W,
        title: "The client certificate is a CA certificate (CA:TRUE)",
        guide: G_CERTS,
        rank: 35,
    },
    Entry {
        id: FindingId::CaListTooLarge,
        symptom: NullCertificate,
        severity: W,
        title: "The server's acceptable-CA list is larger than Windows Schannel handles",
        guide: G_CA_UPLOAD,
        rank: 24,
    },
    Entry {
        id: FindingId::PortalRequestsCert,
        symptom: NullCertificate,
        severity: W,
        title: "A hostname that serves browsers asks for a client certificate",
        guide: G_NEGOTIATE,
        rank: 14,
    },
    Entry {
        id: FindingId::KvCertificateUrl,
        symptom: KeyVault,
        severity: E,
        title: "The Key Vault reference points at /certificates/, which has no private key",
        guide: G_KV,
        rank: 92,
    },
    Entry {
        id: FindingId::KvRotationPending,
        symptom: KeyVault,
        severity: W,
        title: "A newer certificate exists than the one the gateway last fetched from Key Vault",
        guide: G_ROTATE,
        rank: 97,
    },
    Entry {
        id: FindingId::AzureCaReplaced,
        symptom: Forbidden403,
        severity: W,
        title: "Two uploaded CA certificates share a subject: the older one may still be chosen",
        guide: G_CA_UPLOAD,
        rank: 46,
    },
    Entry {
        id: FindingId::AzureAuthCertNotFound,
        symptom: BadGateway502,
        severity: E,
        title: "The authentication-certificate names no certificate the service has",
        guide: G_OUTBOUND,
        rank: 71,
    },
    Entry {
        id: FindingId::AzureKvCertByThumbprint,
        symptom: BadGateway502,
        severity: W,
        title: "A Key Vault certificate is referenced by thumbprint: the next rotation breaks it",
        guide: G_OUTBOUND,
        rank: 72,
    },
    Entry {
        id: FindingId::AzureBackendCertNotFound,
        symptom: BadGateway502,
        severity: E,
        title: "A backend entity names a client certificate the service does not have",
        guide: G_OUTBOUND,
        rank: 73,
    },
    Entry {
        id: FindingId::CertNameDiffersOnLinux,
        symptom: Forbidden403,
        severity: W,
        title: "A self-hosted gateway on Linux reads this certificate differently",
        guide: G_POLICY,
        rank: 47,
    },
    Entry {
        id: FindingId::ClosedAfterRequest,
        symptom: Tls,
        severity: E,
        title: "The server closed or reset the connection after the request, without answering",
        guide: G_NEGOTIATE,
        rank: 54,
    },
    Entry {
        id: FindingId::Http403ClientCert,
        symptom: Forbidden403,
        severity: E,
        title: "The server asked for a client certificate, then its HTTP rules answered 403 over it",
        guide: G_403,
        rank: 19,
    },
    Entry {
        id: FindingId::AzureBackendCertNotRouted,
        symptom: BadGateway502,
        severity: W,
        title: "The backend entity's client certificate is not presented: the policy does not route through it",
        guide: G_OUTBOUND,
        rank: 56,
    },
    // Policies that would let a look-alike certificate in.
    Entry {
        id: FindingId::PolicyNameCheckWithoutChain,
        symptom: Forbidden403,
        severity: W,
        title: "The policy trusts a certificate's names without checking its chain",
        guide: G_POLICY,
        rank: 60,
    },
    Entry {
        id: FindingId::PolicyTrustOff,
        symptom: Forbidden403,
        severity: W,
        title: "validate-client-certificate has validate-trust=\"false\" and matches by names",
        guide: G_POLICY,
        rank: 61,
    },
    Entry {
        id: FindingId::PolicyPinsCaThumbprint,
        symptom: Forbidden403,
        severity: W,
        title: "The policy's thumbprint list holds a CA certificate's thumbprint",
        guide: G_POLICY,
        rank: 62,
    },
    Entry {
        id: FindingId::PolicyCheckCommentedOut,
        symptom: Forbidden403,
        severity: W,
        title: "A certificate check in the policy is inside an XML comment",
        guide: G_POLICY,
        rank: 63,
    },
    Entry {
        id: FindingId::PolicyNotSaveable,
        symptom: Forbidden403,
        severity: E,
        title: "APIM will not save this policy: an expression does not compile",
        guide: G_POLICY,
        rank: 38,
    },
];

// The catalog holds every id, once, in `FindingId` order: checked when the crate compiles, so
// `entry` can index instead of searching and there is nothing to fall back to.
const _: () = {
    assert!(CATALOG.len() == FindingId::ALL.len(), "every finding id needs exactly one catalog entry");
    let mut i = 0;
    while i < CATALOG.len() {
        assert!(CATALOG[i].id as usize == i, "catalog entries must follow FindingId's order");
        i += 1;
    }
};

pub fn entry(id: FindingId) -> &'static Entry {
    &CATALOG[id as usize]
}

/// Start a finding from the catalog; the rule fills in cause, evidence and fix.
pub fn finding(id: FindingId) -> Finding {
    let e = entry(id);
    Finding {
        id,
        severity: e.severity,
        symptom: e.symptom,
        title: e.title.to_string(),
        cause: String::new(),
        evidence: vec![],
        fix: vec![],
        snippet: None,
        guide: e.guide.to_string(),
        subject: None,
        related: vec![],
    }
}

pub fn rank(id: FindingId) -> u16 {
    entry(id).rank
}
