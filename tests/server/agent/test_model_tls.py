"""The model client's TLS: the CA bundle is read only for an https endpoint, and a plain-http
endpoint's context can never complete a TLS handshake unverified."""

from __future__ import annotations

import ssl

from server.agent.model import _tls_context


def test_an_https_endpoint_verifies_against_the_ca_bundle() -> None:
    context = _tls_context("HTTPS://api.example.com/v1")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0
    assert _tls_context("https://other.example.com/v1") is context  # read once, shared


def test_a_plain_http_endpoint_gets_a_context_that_trusts_nothing() -> None:
    context = _tls_context("http://127.0.0.1:11434/v1")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
