"""Tether's wire contract (../shared/PROTOCOL.md) as msgspec Structs: the single encoding.

Every method, notification and server-to-client request is declared once in `methods.py`;
`export.py` generates the JSON Schema (checked in under `schema/`) and, from it, the TypeScript
types the VS Code client uses. This package imports nothing but msgspec.
"""

PROTOCOL_VERSION = 1
