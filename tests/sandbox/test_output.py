"""CappedOutput: incremental decoding, head+tail capping, stream equals final text."""

from __future__ import annotations

from sandbox.output import CappedOutput, Stream


def collect(cap: int) -> tuple[CappedOutput, list[tuple[Stream, str]]]:
    seen: list[tuple[Stream, str]] = []
    return CappedOutput(cap, lambda stream, text: seen.append((stream, text))), seen


def test_small_output_is_kept_whole_and_streamed_live() -> None:
    output, seen = collect(100)
    output.feed("stdout", b"hello ")
    output.feed("stderr", b"world\n")
    assert seen == [("stdout", "hello "), ("stderr", "world\n")]
    assert output.finish() == "hello world\n"
    assert not output.truncated


def test_multibyte_character_split_across_chunks() -> None:
    output, seen = collect(100)
    euro = "€".encode()
    output.feed("stdout", euro[:1])
    output.feed("stdout", euro[1:] + b"\n")
    assert output.finish() == "€\n"
    assert "".join(text for _, text in seen) == "€\n"


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    output, _ = collect(100)
    output.feed("stdout", b"a\xffb")
    assert output.finish() == "a\ufffdb"


def test_long_output_keeps_head_and_tail_with_a_marker() -> None:
    output, seen = collect(100)
    for i in range(1000):
        output.feed("stdout", f"line {i:04d}\n".encode())
    text = output.finish()
    assert output.truncated
    assert text.startswith("line 0000\n")
    assert text.endswith("line 0999\n")
    assert "output truncated" in text
    assert "".join(t for _, t in seen) == text
    head, _, tail = text.partition("\n[... output truncated")
    assert len(head.encode()) <= 50 and len(tail.split("...]\n", 1)[1].encode()) <= 50


def test_cap_splitting_a_character_never_yields_half_of_it() -> None:
    output, _ = collect(11)
    output.feed("stdout", ("é" * 50).encode())
    text = output.finish()
    assert "\ufffd" not in text
    assert set(text.replace(text[text.index("\n[") : text.index("]\n") + 2], "")) == {"é"}


def test_without_callback() -> None:
    output = CappedOutput(10, None)
    output.feed("stdout", b"x" * 100)
    assert output.finish().count("x") == 10


def test_a_failing_callback_stops_streaming_but_not_keeping() -> None:
    calls: list[str] = []

    def broken(_stream: Stream, text: str) -> None:
        calls.append(text)
        raise RuntimeError("client went away")

    output = CappedOutput(100, broken)
    output.feed("stdout", b"one ")
    output.feed("stdout", b"two")
    assert calls == ["one "]
    assert output.finish() == "one two"
