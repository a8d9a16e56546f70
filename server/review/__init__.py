"""Code review (`review/start`, `tether review`): `diff.py` computes what a target changed,
`findings.py` holds the review prompt, the answer's schema and its conversion to a `review`
item (findings outside the diff dropped), `runner.py` runs the read-only review turn, and
`cli.py` is `tether review`."""
