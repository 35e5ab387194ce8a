//! Certificates a self-hosted gateway on Linux reads differently from the managed (Windows) gateway:
//! both answers are shown, from the names `cert::linux` recorded.

use super::catalog::finding;
use super::finding::Finding;
use super::id::FindingId;
use crate::cert::{CertInfo, LinuxView};

pub(super) fn linux_differences(certs: Vec<(String, &CertInfo)>, out: &mut Vec<Finding>) {
    let mut seen: Vec<&str> = Vec::new();
    for (subject, cert) in certs {
        let Some(view) = &cert.linux else { continue };
        if seen.contains(&cert.thumbprint_sha1.as_str()) {
            continue;
        }
        seen.push(&cert.thumbprint_sha1);
        let shown = |name: &str| if name.is_empty() { "(empty)".to_string() } else { format!("\"{name}\"") };
        let mut f = finding(FindingId::CertNameDiffersOnLinux);
        f.subject = Some(subject);
        f.evidence.push(format!("certificate {}", cert.thumbprint_sha1));
        f.evidence.push(format!(
            "managed gateway (.NET on Windows): Subject {}, Issuer {}",
            shown(&cert.subject),
            shown(&cert.issuer)
        ));
        match view {
            LinuxView::Names { subject, issuer } => {
                f.evidence.push(format!(
                    "self-hosted gateway (.NET on Linux): Subject {}, Issuer {}",
                    shown(subject),
                    shown(issuer)
                ));
                let empty = subject.is_empty() || issuer.is_empty();
                f.cause = if empty {
                    "On a self-hosted gateway (.NET on Linux) this certificate's name does not decode and reads as empty, so every Subject or Issuer comparison in a policy fails there while it passes on the managed gateway.".into()
                } else {
                    "A self-hosted gateway (.NET on Linux) prints this certificate's names differently from the managed gateway (attribute names from OpenSSL), so a policy comparing Subject or Issuer strings gives different answers on the two.".into()
                };
                f.fix = vec![
                    "Compare the thumbprint (or the issuer certificate's thumbprint) instead of Subject/Issuer strings when the policy must hold on both gateways.".into(),
                    "Or write both spellings in the policy, as shown in the evidence.".into(),
                ];
            }
            LinuxView::CannotLoad { refusal } => {
                f.severity = super::finding::Severity::Error;
                f.evidence.push(format!(
                    "self-hosted gateway (.NET on Linux): cannot load the certificate ({})",
                    refusal.explain()
                ));
                f.cause = "A self-hosted gateway (.NET on Linux) cannot load this certificate at all (OpenSSL refuses it), so context.Request.Certificate is unusable there while the managed gateway accepts it.".into();
                f.fix = vec!["Reissue the certificate with standard encodings (a minimal positive serial, string attribute values).".into()];
            }
        }
        out.push(f);
    }
}
