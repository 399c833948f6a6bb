"""The session PKI of the certificate tests, for command-line tests that need real certificates."""

from tests.pki.conftest import pki  # noqa: F401  (a fixture: pytest finds it here)
