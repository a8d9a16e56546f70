"""Tether's backend: a pygls process that speaks the protocol of ../shared/PROTOCOL.md."""

__version__ = "0.1.0"
