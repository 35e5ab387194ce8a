//! A minimal DER reader for the parts of a certificate that must be seen exactly as encoded.
//!
//! x509-parser normalises what .NET and OpenSSL react to (its raw Name slice stops at an empty RDN
//! SET, for one), so the serial, issuer and subject bytes are located here directly.

/// Universal tag numbers of the value types that matter here.
pub(crate) mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const UTF8_STRING: u8 = 0x0C;
    pub const NUMERIC_STRING: u8 = 0x12;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const T61_STRING: u8 = 0x14;
    pub const IA5_STRING: u8 = 0x16;
    pub const VISIBLE_STRING: u8 = 0x1A;
    pub const UNIVERSAL_STRING: u8 = 0x1C;
    pub const BMP_STRING: u8 = 0x1E;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    pub const OID: u8 = 0x06;
}

/// One DER element: its identifier octet, contents, and the whole encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub whole: &'a [u8],
}

/// Read one DER element from the front of `input`. `None` for anything DER forbids that matters
/// here (high tag numbers, indefinite or non-minimal lengths, truncation): .NET's `AsnReader` in
/// DER mode refuses those too.
pub(crate) fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    read(input, true)
}

/// [`read_tlv`] without DER's rule that a length is written in as few bytes as it can be (a
/// long form for a length under 128, a leading zero byte): openssl and x509-parser take those.
/// High tag numbers, indefinite lengths and truncation are still `None`.
pub(crate) fn read_tlv_lenient(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    read(input, false)
}

fn read(input: &[u8], minimal: bool) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1F == 0x1F {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n || (minimal && rest[0] == 0) {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        if minimal && len < 0x80 {
            return None;
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    let whole = &input[..header + len];
    Some((Tlv { tag, content: &rest[..len], whole }, &rest[len..]))
}

/// Split a run of DER elements into its members.
pub(crate) fn read_all(mut input: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = read_tlv(input)?;
        out.push(tlv);
        input = rest;
    }
    Some(out)
}

/// The TBSCertificate fields whose exact bytes decide what .NET shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TbsParts<'a> {
    /// Contents of the serialNumber INTEGER.
    pub serial: &'a [u8],
    /// Whole DER of the issuer and subject Names.
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
}

/// Locate serial, issuer and subject in a DER certificate.
pub(crate) fn tbs_parts(cert: &[u8]) -> Option<TbsParts<'_>> {
    let (outer, _) = read_tlv(cert)?;
    let (tbs, _) = read_tlv(outer.content)?;
    let mut fields = read_all(tbs.content)?.into_iter();
    let mut serial = fields.next()?;
    if serial.tag == 0xA0 {
        serial = fields.next()?;
    }
    let _signature = fields.next()?;
    let issuer = fields.next()?;
    let _validity = fields.next()?;
    let subject = fields.next()?;
    (serial.tag == tag::INTEGER).then_some(TbsParts {
        serial: serial.content,
        issuer: issuer.whole,
        subject: subject.whole,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let (t, rest) = read_tlv(&[0x04, 0x02, 0xAA, 0xBB, 0x05, 0x00]).expect("short form");
        assert_eq!((t.tag, t.content, t.whole.len(), rest), (0x04, &[0xAA, 0xBB][..], 4, &[0x05, 0x00][..]));
        let long: Vec<u8> = [&[0x04, 0x81, 0x80][..], &[0u8; 0x80]].concat();
        assert_eq!(read_tlv(&long).expect("long form").0.content.len(), 0x80);
    }

    #[test]
    fn refuses_what_der_forbids() {
        // Length 1 in long form, a leading zero length byte, indefinite length, truncation, high tag.
        for bad in [
            &[0x04, 0x81, 0x01, 0xAA][..],
            &[0x04, 0x82, 0x00, 0x80],
            &[0x30, 0x80],
            &[0x04, 0x03, 0xAA],
            &[0x1F, 0x01],
        ] {
            assert!(read_tlv(bad).is_none(), "{bad:02X?}");
        }
    }

    #[test]
    fn the_lenient_reader_takes_lengths_that_are_not_minimal_and_nothing_else() {
        let (t, _) = read_tlv_lenient(&[0x04, 0x81, 0x01, 0xAA]).expect("long form for 1");
        assert_eq!(t.content, &[0xAA][..]);
        let padded: Vec<u8> = [&[0x04, 0x82, 0x00, 0x80][..], &[0u8; 0x80]].concat();
        assert_eq!(read_tlv_lenient(&padded).expect("leading zero").0.content.len(), 0x80);
        for bad in [&[0x30, 0x80][..], &[0x04, 0x03, 0xAA], &[0x1F, 0x01], &[0x04, 0x85, 1, 0, 0, 0, 0]] {
            assert!(read_tlv_lenient(bad).is_none(), "{bad:02X?}");
        }
    }
}
