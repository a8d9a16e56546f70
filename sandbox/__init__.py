"""Tether sandbox: policies, path rules, OS launchers and command rules.

Knows nothing of the server: `server` imports it, never the reverse.
"""
