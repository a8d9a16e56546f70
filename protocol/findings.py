"""Code review findings (`review/start`, a Tether addition): what a review looks at and what it
found. The `review` item (`protocol.item.ReviewItem`) carries them; `protocol.review` has the
request."""

from typing import Literal

from protocol.base import Wire


class UncommittedChangesTarget(Wire, tag_field="type", tag="uncommittedChanges"):
    """Staged, unstaged and untracked files (untracked: `git ls-files -o --exclude-standard`)."""


class BaseBranchTarget(Wire, tag_field="type", tag="baseBranch"):
    """The change since the merge-base with `branch`'s upstream, or with `branch` itself when
    it has none (the working tree included)."""

    branch: str


class CommitTarget(Wire, tag_field="type", tag="commit"):
    sha: str
    title: str | None = None
    """The commit's subject, for display; the server fills it in."""


class TurnTarget(Wire, tag_field="type", tag="turn"):
    """What one Tether turn of the thread changed, edits and commands alike (its checkpoint,
    as `turn/files` shows it)."""

    turn_id: str


class CustomTarget(Wire, tag_field="type", tag="custom"):
    """A review the user words; the server adds no diff."""

    instructions: str


ReviewTarget = (
    UncommittedChangesTarget | BaseBranchTarget | CommitTarget | TurnTarget | CustomTarget
)


class LineRange(Wire):
    """0-based lines of the file as the change left it, `end` included."""

    start: int
    end: int


class Finding(Wire):
    """One problem the change introduced. `priority` 0 (drop everything) to 3 (nit);
    `confidenceScore` 0..1; `path` absolute; `body` markdown; `suggestion`, when given, is the
    replacement text for the lines of `range`."""

    id: str
    title: str
    body: str
    priority: int
    confidence_score: float
    path: str
    range: LineRange
    suggestion: str | None = None


OverallCorrectness = Literal["patchIsCorrect", "patchIsIncorrect"]
