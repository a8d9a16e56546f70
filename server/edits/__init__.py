"""The edits engine: patches, diffs, per-hunk apply and revert, atomic writes, checkpoints.

A pure library: it knows nothing of pygls or the wire protocol. The server's file tools
(`apply_patch`, `edit_file`) and its review flow (accept or reject hunks, `change/revert`,
`turn/revert`) are built on it.

- `patch` (with `patch_apply`, `seek`): parse and apply the Codex `apply_patch` format.
- `replace`: exact string replacement for `edit_file`.
- `diff` (with `linediff`, `text`): structured hunks and unified diff text from two texts.
- `hunks` (with `merge`, `locate`): apply a subset of hunks, revert applied hunks, rebase
  a change onto edited text.
- `atomic`: atomic, mode-preserving writes and deletes.
- `checkpoints` (with `tracked`, `snapshot`, `blobs`, `ignore`): git-independent turn
  checkpoints; what commands change, from the roots' inotify watch (`tracked`) or walks
  (`snapshot`); the content store; and the ignore rules a file watcher should share.
"""
