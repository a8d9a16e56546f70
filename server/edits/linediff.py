"""A fast line diff: patience anchors over interned lines, Myers for what is left.

difflib's SequenceMatcher is quadratic on files with many repeated lines (blank lines,
closing braces), and its "autojunk" heuristic that avoids this degrades the diff. Patience
diff anchors on lines that occur exactly once on both sides, which splits a big file with
scattered edits into many tiny gaps in O(n log n); only those gaps, which have no unique
common line, get a minimal Myers alignment, with a budget so a pathological gap cannot
hang the server. Lines are interned to ints first so every comparison is an int compare.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence

Block = tuple[int, int, int]
"""A run of equal lines: (start in a, start in b, length)."""


def matching_blocks(a: Sequence[str], b: Sequence[str]) -> list[Block]:
    """Runs of equal lines between `a` and `b`, in increasing order, non-overlapping."""
    ids: dict[str, int] = {}
    ai = [ids.setdefault(line, len(ids)) for line in a]
    bi = [ids.setdefault(line, len(ids)) for line in b]
    pairs = _matched_pairs(ai, bi)
    pairs.sort()
    blocks: list[Block] = []
    for i, j in pairs:
        if blocks:
            bi0, bj0, n = blocks[-1]
            if bi0 + n == i and bj0 + n == j:
                blocks[-1] = (bi0, bj0, n + 1)
                continue
        blocks.append((i, j, 1))
    return blocks


def _matched_pairs(a: list[int], b: list[int]) -> list[tuple[int, int]]:
    """Matched (i, j) line pairs; an explicit stack keeps deep files off the call stack."""
    out: list[tuple[int, int]] = []
    stack = [(0, len(a), 0, len(b))]
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        while alo < ahi and blo < bhi and a[alo] == b[blo]:
            out.append((alo, blo))
            alo += 1
            blo += 1
        while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
            ahi -= 1
            bhi -= 1
            out.append((ahi, bhi))
        if alo == ahi or blo == bhi:
            continue
        anchors = _unique_lcs(a, b, alo, ahi, blo, bhi)
        if not anchors:
            out.extend(_fallback_pairs(a, b, alo, ahi, blo, bhi))
            continue
        prev_a, prev_b = alo, blo
        for i, j in anchors:
            if prev_a < i or prev_b < j:
                stack.append((prev_a, i, prev_b, j))
            out.append((i, j))
            prev_a, prev_b = i + 1, j + 1
        stack.append((prev_a, ahi, prev_b, bhi))
    return out


def _unique_lcs(
    a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """The longest increasing chain of lines unique in both ranges (patience sorting)."""
    count_a = Counter(a[alo:ahi])
    count_b = Counter(b[blo:bhi])
    pos_b = dict(zip(b[blo:bhi], range(blo, bhi), strict=True))
    candidates = [
        (i, pos_b[line])
        for i, line in enumerate(a[alo:ahi], alo)
        if count_a[line] == 1 and count_b[line] == 1
    ]
    if not candidates:
        return []
    tails: list[int] = []  # b position ending the best chain of each length
    tail_index: list[int] = []
    back: list[int] = []
    for k, (_, j) in enumerate(candidates):
        # Edits are sparse, so most candidates extend the longest chain: skip the search.
        length = len(tails) if not tails or j > tails[-1] else bisect_left(tails, j)
        if length == len(tails):
            tails.append(j)
            tail_index.append(k)
        else:
            tails[length] = j
            tail_index[length] = k
        back.append(tail_index[length - 1] if length else -1)
    chain: list[tuple[int, int]] = []
    k = tail_index[-1]
    while k != -1:
        chain.append(candidates[k])
        k = back[k]
    chain.reverse()
    return chain


def _fallback_pairs(
    a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Matches inside a gap with no unique common line: a minimal (Myers) alignment.

    Such gaps are small in real code. A huge one of repetitive lines could take quadratic
    time, so past `MYERS_BUDGET` steps the gap is reported as wholly replaced instead: a
    bigger diff, still correct, in bounded time.
    """
    xs, ys = a[alo:ahi], b[blo:bhi]
    if set(xs).isdisjoint(ys):
        return []
    n, m = len(xs), len(ys)
    offset = n + m + 1
    frontier = [0] * (2 * offset + 1)  # furthest x reached on each diagonal k = x - y
    history: list[list[int]] = []
    steps = 0
    for d in range(n + m + 1):
        history.append(frontier[offset - d - 1 : offset + d + 2])
        steps += d
        for k in range(-d, d + 1, 2):
            down = k == -d or (k != d and frontier[offset + k - 1] < frontier[offset + k + 1])
            x = frontier[offset + k + 1] if down else frontier[offset + k - 1] + 1
            y = x - k
            snake_start = x
            while x < n and y < m and xs[x] == ys[y]:
                x += 1
                y += 1
            steps += x - snake_start + 1
            frontier[offset + k] = x
            if x >= n and y >= m:
                return [(alo + i, blo + j) for i, j in _backtrack(history, n, m, d)]
        if steps > MYERS_BUDGET:
            return []
    return []


MYERS_BUDGET = 300_000
"""Search steps allowed per gap, about 0.2 s of Python; a gap of a few hundred lines with
no line unique to it stays well within it."""


def _backtrack(history: list[list[int]], n: int, m: int, d_end: int) -> list[tuple[int, int]]:
    """The matched pairs of the path found in round `d_end`, from the saved frontiers."""
    pairs: list[tuple[int, int]] = []
    x, y = n, m
    for d in range(d_end, 0, -1):
        saved = history[d]  # the frontier before round d, for diagonals -d-1 .. d+1

        def at(k: int, saved: list[int] = saved, d: int = d) -> int:
            return saved[k + d + 1]

        k = x - y
        down = k == -d or (k != d and at(k - 1) < at(k + 1))
        prev_k = k + 1 if down else k - 1
        prev_x = at(prev_k)
        prev_y = prev_x - prev_k
        start_x = prev_x if down else prev_x + 1
        while x > start_x:
            x -= 1
            y -= 1
            pairs.append((x, y))
        x, y = prev_x, prev_y
    while x > 0 and y > 0:
        x -= 1
        y -= 1
        pairs.append((x, y))
    pairs.reverse()
    return pairs
