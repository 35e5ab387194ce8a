//! Attribute-type names: the friendly names .NET prints, and the OpenSSL long names .NET on Linux falls back to.

/// `Oid.FriendlyName` from .NET's own table, the same on every platform. Follows dotnet/runtime
/// `src/libraries/System.Security.Cryptography/src/System/Security/Cryptography/OidLookup.cs`
/// (`InitializeLookupDictionaries`, names as Windows gives them). Only the entries that name
/// directory attributes are listed: the rest of that table (algorithms, curves) never appears as an
/// attribute type in a real name, and an OID missing here is printed as `OID.x.y.z` on Windows.
pub(crate) fn dotnet_friendly_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "S",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.13" => "Description",
        "2.5.4.17" => "PostalCode",
        "2.5.4.18" => "POBox",
        "2.5.4.20" => "Phone",
        "2.5.4.24" => "X21Address",
        "2.5.4.42" => "G",
        "2.5.4.43" => "I",
        "2.5.4.46" => "dnQualifier",
        "1.2.840.113549.1.9.1" => "E",
        "0.9.2342.19200300.100.1.25" => "DC",
        // TPM endorsement certificates carry these in the SAN's directoryName.
        "2.23.133.2.1" => "TPMManufacturer",
        "2.23.133.2.2" => "TPMModel",
        "2.23.133.2.3" => "TPMVersion",
        _ => return None,
    })
}

/// The long name OpenSSL 3 gives an OID (`OBJ_nid2ln`), which .NET on Linux uses when its own table
/// has no entry: dotnet/runtime `OidLookup.OpenSsl.cs` calls the native shim
/// `CryptoNative_LookupFriendlyNameByOid` (`OBJ_txt2obj` then `OBJ_nid2ln`). Only OIDs used as
/// name attributes are listed; the values were read from OpenSSL 3's `asn1parse -genstr OID:…`.
/// OpenSSL 1.1.1 lacks a few (`dnsName`, `countryCode3c`, `countryCode3n`).
pub(crate) fn openssl_long_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.14" => "searchGuide",
        "2.5.4.15" => "businessCategory",
        "2.5.4.16" => "postalAddress",
        "2.5.4.19" => "physicalDeliveryOfficeName",
        "2.5.4.21" => "telexNumber",
        "2.5.4.22" => "teletexTerminalIdentifier",
        "2.5.4.23" => "facsimileTelephoneNumber",
        "2.5.4.25" => "internationaliSDNNumber",
        "2.5.4.26" => "registeredAddress",
        "2.5.4.27" => "destinationIndicator",
        "2.5.4.28" => "preferredDeliveryMethod",
        "2.5.4.29" => "presentationAddress",
        "2.5.4.30" => "supportedApplicationContext",
        "2.5.4.31" => "member",
        "2.5.4.32" => "owner",
        "2.5.4.33" => "roleOccupant",
        "2.5.4.34" => "seeAlso",
        "2.5.4.35" => "userPassword",
        "2.5.4.36" => "userCertificate",
        "2.5.4.37" => "cACertificate",
        "2.5.4.38" => "authorityRevocationList",
        "2.5.4.39" => "certificateRevocationList",
        "2.5.4.40" => "crossCertificatePair",
        "2.5.4.41" => "name",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.45" => "x500UniqueIdentifier",
        "2.5.4.47" => "enhancedSearchGuide",
        "2.5.4.48" => "protocolInformation",
        "2.5.4.49" => "distinguishedName",
        "2.5.4.50" => "uniqueMember",
        "2.5.4.51" => "houseIdentifier",
        "2.5.4.52" => "supportedAlgorithms",
        "2.5.4.53" => "deltaRevocationList",
        "2.5.4.54" => "dmdName",
        "2.5.4.65" => "pseudonym",
        "2.5.4.72" => "role",
        "2.5.4.97" => "organizationIdentifier",
        "2.5.4.98" => "countryCode3c",
        "2.5.4.99" => "countryCode3n",
        "2.5.4.100" => "dnsName",
        "0.9.2342.19200300.100.1.1" => "userId",
        "0.9.2342.19200300.100.1.2" => "textEncodedORAddress",
        "0.9.2342.19200300.100.1.3" => "rfc822Mailbox",
        "0.9.2342.19200300.100.1.4" => "info",
        "0.9.2342.19200300.100.1.5" => "favouriteDrink",
        "0.9.2342.19200300.100.1.6" => "roomNumber",
        "0.9.2342.19200300.100.1.10" => "manager",
        "0.9.2342.19200300.100.1.20" => "homeTelephoneNumber",
        "0.9.2342.19200300.100.1.22" => "otherMailbox",
        "0.9.2342.19200300.100.1.26" => "aRecord",
        "0.9.2342.19200300.100.1.37" => "associatedDomain",
        "0.9.2342.19200300.100.1.43" => "friendlyCountryName",
        "0.9.2342.19200300.100.1.44" => "uniqueIdentifier",
        "0.9.2342.19200300.100.1.45" => "organizationalStatus",
        "1.2.840.113549.1.9.2" => "unstructuredName",
        "1.2.840.113549.1.9.8" => "unstructuredAddress",
        "1.2.840.113549.1.9.20" => "friendlyName",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionLocalityName",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionStateOrProvinceName",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionCountryName",
        "1.3.6.1.5.5.7.9.1" => "id-pda-dateOfBirth",
        "1.3.6.1.5.5.7.9.2" => "id-pda-placeOfBirth",
        "1.3.6.1.5.5.7.9.3" => "id-pda-gender",
        "1.3.6.1.5.5.7.9.4" => "id-pda-countryOfCitizenship",
        "1.3.6.1.5.5.7.9.5" => "id-pda-countryOfResidence",
        "1.2.643.3.131.1.1" => "INN",
        "1.2.643.100.1" => "OGRN",
        "1.2.643.100.3" => "SNILS",
        _ => return None,
    })
}

/// Short names RFC 4514 (and OpenSSL's `-nameopt RFC2253`) use.
pub(crate) fn rfc4514_short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}
