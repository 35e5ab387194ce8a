//! Loading certificate and key material from PEM, DER and PKCS#12 files.
