"""Certificates: loading (PEM, DER, PKCS#7, PKCS#12, folders), facts, and path validation."""
