"""Parse a shell command string into simple commands and flag what no rule may auto-approve.

The approval policy needs two facts about a command line: the argv of every simple command it
would run (pipelines, `&&`, `||`, `;`, and also those nested in substitutions, subshells and
`bash -c` scripts), and whether it uses a construct whose effect a prefix rule cannot see
(redirections to files, substitutions, subshells, `eval`, expansions, ...). `parse_command`
returns both as a `ParsedCommand`; it never raises on bad input, it flags it. The server calls it
through `sandbox.parse_worker`, in a child process, so a crash in the C parser cannot end it.

The parser is tree-sitter-bash rather than bashlex because it covers the whole bash grammar
(`[[ ]]`, `case`, here-docs, process substitution, arithmetic, functions) where bashlex raises
on much of it, it is error-tolerant so a half-valid line still yields the parts we must see
(a forbidden `rm` next to a syntax error is still found), it marks syntax errors explicitly
(`ERROR` and missing nodes, which we flag), and it is maintained and ships typed wheels.

Redirections that cannot create or change a file are exempt from flagging, because agents add
them to almost every command and flagging them would bring back approval fatigue: duplicating or
closing a descriptor (`2>&1`, `>&2`, `3>&-`) and sending output to or reading from `/dev/null`.
Every other redirection, here-docs and here-strings included, is flagged.

Constructs that run text no rule can read are flagged like `eval`: a shell fed its commands on
stdin (`echo 'rm x' | bash`, `bash <<< ...`, `sh -s`, `su` without `-c`), a script read from a
process substitution (`source <(...)`, `bash <(...)`), and commands set to run later or under
another name (`trap`, `alias`, `coproc`, `hash -p`). Wrappers (`sudo`, `timeout`, `flock`,
`script -c`, `watch`, ... see `sandbox.wrappers`) are seen through to the command they run.

tree-sitter-bash is given ASCII only: each byte of a non-ASCII character becomes `X` before
parsing, so byte offsets stay the same and node text is sliced from the original bytes. Its
external scanner passes the lookahead code point to `isdigit`/`isalpha`, which index a 384-entry
glibc table; an astral character reads up to 2 MiB past it and crashes the process with SIGSEGV
(`{` then U+10FFFF is enough). bash's metacharacters are all ASCII, so a non-ASCII character is a
plain word character to bash as `X` is to the grammar. The scanner also truncates code points to
bytes when it compares here-doc delimiters, and `X` can equal real text, so a here-doc with
non-ASCII text in it is flagged as unsupported: where it ends is not certain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from sandbox.wrappers import (
    SHELLS,
    Unwrapped,
    basename,
    split_short_cluster,
    strip_wrappers,
    unwrap,
)

_SHOWN_CHARS = 60
_SHOWN_FLAGS = 3


class Construct(StrEnum):
    """A shell construct that keeps a command from being approved by a rule or the safe list."""

    REDIRECTION = "redirection"
    COMMAND_SUBSTITUTION = "command substitution"
    PROCESS_SUBSTITUTION = "process substitution"
    SUBSHELL = "subshell"
    EXPANSION = "variable or arithmetic expansion"
    DYNAMIC_COMMAND_NAME = "command name that is computed"
    ASSIGNMENT = "variable assignment"
    EVAL = "eval"
    SHELL_INPUT = "shell that runs the text fed to it"
    DEFERRED = "command set to run later or under another name"
    NESTED_SHELL = "shell script that cannot be checked"
    COMPOUND = "compound statement or function"
    BACKGROUND = "background job"
    SYNTAX_ERROR = "syntax error"
    UNSUPPORTED = "unsupported syntax"


@dataclass(frozen=True, slots=True)
class Flag:
    """One occurrence of a flagged construct: what it is and the source text it came from."""

    construct: Construct
    text: str

    def describe(self) -> str:
        text = self.text if len(self.text) <= _SHOWN_CHARS else self.text[:_SHOWN_CHARS] + "…"
        return f"{self.construct.value} `{text}`"


@dataclass(frozen=True, slots=True)
class Word:
    """One argv word with quotes and escapes resolved.

    `literal` is False when the word holds an expansion or substitution, so `text` (kept as
    written) is not what will run. `pattern` is True when an unquoted glob or brace would make
    the shell replace the word with other words, such as file names chosen by whoever wrote them.
    A tilde bash would expand (`~`, `~/x`, `name=~`) stays as written and counts as literal: it
    can only become a home directory path, which changes what is read, not what runs.
    """

    text: str
    literal: bool = True
    pattern: bool = False


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One command the shell would run, as its words."""

    words: tuple[Word, ...]

    @property
    def argv(self) -> tuple[str, ...]:
        return tuple(word.text for word in self.words)

    @property
    def exact(self) -> bool:
        """True when every word is known before the shell runs: no expansion, glob or brace."""
        return all(word.literal and not word.pattern for word in self.words)


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """Everything `parse_command` learnt about a command line."""

    source: str
    commands: tuple[SimpleCommand, ...]
    flags: tuple[Flag, ...]

    @property
    def plain(self) -> bool:
        """True when the line is only simple commands joined by pipes, `&&`, `||` and `;`."""
        return not self.flags

    def describe_flags(self) -> str:
        """The first few flags, for a reason shown to the user and the model."""
        shown = ", ".join(flag.describe() for flag in self.flags[:_SHOWN_FLAGS])
        hidden = len(self.flags) - _SHOWN_FLAGS
        return f"{shown} and {hidden} more" if hidden > 0 else shown


_SHELL_OPTION = re.compile(r"[-+][abefhiklmnprtuvxBCEHPT]*c?[abefhiklmnprtuvxBCEHPT]*")
_SHELL_LONG_OPTIONS = frozenset({"--login", "--norc", "--noprofile", "--posix", "--noediting"})
_MAX_NESTED_SHELLS = 3
_HARMLESS_FILE_TARGETS = frozenset({"/dev/null"})
_COMPOUND_NODES = frozenset(
    {
        "if_statement",
        "while_statement",
        "for_statement",
        "c_style_for_statement",
        "case_statement",
        "compound_statement",
        "function_definition",
        "test_command",
        "declaration_command",
        "unset_command",
        "arithmetic_expansion",
    }
)


@cache
def _bash() -> Language:
    return Language(tree_sitter_bash.language())


_ASCII_ONLY = bytes.maketrans(bytes(range(0x80, 0x100)), b"X" * 0x80)


def _parse_tree(source: bytes) -> Node:
    # A fresh parser per call: cheap (microseconds), and parsers must not be shared by threads.
    # ASCII only, so the scanner never feeds a code point above 127 to the ctype functions.
    return Parser(_bash()).parse(source.translate(_ASCII_ONLY)).root_node


def parse_command(source: str) -> ParsedCommand:
    """Split `source` into simple commands and flag every construct no rule may approve."""
    walker = _Walker(source.encode(errors="surrogatepass"), depth=0)  # JSON allows lone surrogates
    tree = _parse_tree(walker.source)
    try:
        walker.statement(tree)
    except RecursionError:
        # Nesting deeper than Python's stack: keep what was found and flag the rest as unread.
        walker.flags.append(Flag(Construct.UNSUPPORTED, "nesting too deep to check"))
    return ParsedCommand(source, tuple(walker.commands), tuple(walker.flags))


@dataclass
class _Walker:
    """Collects the simple commands and flags of one (possibly nested) shell script."""

    source: bytes
    depth: int
    commands: list[SimpleCommand] = field(default_factory=lambda: [])
    flags: list[Flag] = field(default_factory=lambda: [])

    def text(self, node: Node) -> str:
        """The node's source as written (the tree itself was parsed from an ASCII copy)."""
        return self.source[node.start_byte : node.end_byte].decode(errors="replace")

    def flag(self, construct: Construct, node: Node) -> None:
        self.flags.append(Flag(construct, self.text(node)))

    def statement(self, node: Node) -> None:
        """Walk a node in statement position (a command, list, pipeline, compound...)."""
        if node.type == "comment":
            return
        if node.is_missing or node.type == "ERROR":
            self.flag(Construct.SYNTAX_ERROR, node)
        handler = _STATEMENT_HANDLERS.get(node.type)
        if handler is not None:
            handler(self, node)
            return
        if node.type in _SUBSTITUTIONS:
            self.substitution(node)
            return
        if node.type in ("declaration_command", "unset_command"):
            self.flag(Construct.ASSIGNMENT, node)
        elif node.type in _COMPOUND_NODES:
            self.flag(Construct.COMPOUND, node)
        elif node.type not in _SEQUENCES and node.type != "ERROR":
            self.flag(Construct.UNSUPPORTED, node)
        else:
            self.check_gaps(node)
        self.descend(node)

    def check_gaps(self, node: Node) -> None:
        """Flag source the grammar skipped between children, such as a leading `\\ `.

        tree-sitter-bash drops some escapes it treats as blanks; bash does not, so a line
        with a gap holding anything but blanks and line continuations is not what we parsed.
        """
        # The root may start after skipped source, and skipped source may trail the last child.
        is_root = node.parent is None
        position = 0 if is_root else node.start_byte
        ends = [child.start_byte for child in node.children]
        ends.append(len(self.source) if is_root else node.end_byte)
        for child_start, child in zip(ends, [*node.children, None], strict=True):
            if not _BLANK.fullmatch(self.source[position:child_start]):
                self.flag(Construct.UNSUPPORTED, node)
                return
            position = child.end_byte if child is not None else position

    def descend(self, node: Node) -> None:
        """Find the statements below `node`, skipping the words of tests, loops and expansions."""
        for child in node.children:
            if child.is_missing:
                self.flag(Construct.SYNTAX_ERROR, node)
            elif child.type == "&":
                self.flag(Construct.BACKGROUND, node)
            elif child.type in _STATEMENT_TYPES or child.type == "ERROR":
                self.statement(child)
            elif child.is_named:
                self.descend(child)

    def substitution(self, node: Node) -> None:
        construct = {
            "command_substitution": Construct.COMMAND_SUBSTITUTION,
            "process_substitution": Construct.PROCESS_SUBSTITUTION,
        }.get(node.type, Construct.SUBSHELL)
        self.flag(construct, node)
        self.descend(node)

    def redirected_statement(self, node: Node) -> None:
        self.check_gaps(node)
        for child in node.children:
            if child.type.endswith("_redirect"):
                self.redirect(child)
            elif child.is_named:
                self.statement(child)

    def redirect(self, node: Node) -> None:
        if not self.is_harmless_redirect(node):
            self.flag(Construct.REDIRECTION, node)
        if (
            node.type == "heredoc_redirect"
            and not self.source[node.start_byte : node.end_byte].isascii()
        ):
            # The grammar saw `X` for each non-ASCII byte, so where the here-doc ends is not sure.
            self.flag(Construct.UNSUPPORTED, node)
        for child in node.named_children:
            if child.type in _WORD_TYPES:
                self.word(child)
            else:
                self.descend(child)

    def is_harmless_redirect(self, node: Node) -> bool:
        """True for `2>&1`-style descriptor duplication or closing and for `/dev/null` targets."""
        if node.type != "file_redirect":
            return False
        destinations = node.children_by_field_name("destination")
        operators = [c.type for c in node.children if not c.is_named]
        if not destinations:
            return self.text(node).endswith("&-")
        if len(destinations) != 1:
            return False
        target = destinations[0]
        if target.type == "number" and operators in ([">&"], ["<&"]):
            return True
        return target.type == "word" and self.text(target) in _HARMLESS_FILE_TARGETS

    def variable_assignment(self, node: Node) -> None:
        self.flag(Construct.ASSIGNMENT, node)
        for child in node.named_children:
            if child.type != "variable_name":
                self.word(child)

    def command(self, node: Node) -> None:
        self.check_gaps(node)
        words: list[Word] = []
        word_end = -1  # end byte of the last word, to glue parts the grammar leaves apart
        for child in node.children:
            if child.type == "variable_assignment":
                self.variable_assignment(child)
            elif child.type.endswith("_redirect"):
                self.redirect(child)
            elif child.type == "command_name" or child.is_named:
                is_name = child.type == "command_name"
                word = self.command_name(child) if is_name else self.word(child)
                gap = self.source[word_end : child.start_byte]
                if words and _CONTINUATIONS.fullmatch(gap):
                    # tree-sitter-bash splits `''\a` and `a\<newline>b` in two; bash sees one word.
                    word = _joined(words.pop(), word)
                words.append(word)
                word_end = child.end_byte
            elif child.type not in ("comment",):
                self.flag(Construct.UNSUPPORTED, child)
        if words:
            command = SimpleCommand(tuple(words))
            self.simple_command(command, node)
            for executed in _find_exec_commands(command):
                self.simple_command(executed, node)

    def command_name(self, node: Node) -> Word:
        word = self.word(node.named_children[0]) if node.named_children else Word(self.text(node))
        if not word.literal or word.pattern:
            self.flag(Construct.DYNAMIC_COMMAND_NAME, node)
        return word

    def simple_command(self, command: SimpleCommand, node: Node) -> None:
        """Record a command; a script it hands to a shell is parsed and recorded too.

        A bare `bash -c SCRIPT` is replaced by the commands of SCRIPT, so rules judge what really
        runs. Behind a wrapper (`sudo bash -c ...`, `su -c SCRIPT`) the outer command is kept as
        well, so the wrapper still has to be allowed on its own.
        """
        unwrapped = unwrap(command.argv)
        self.flag_hidden_runs(command, unwrapped, node)
        if unwrapped.script is not None:
            self.commands.append(command)
            script = Word(unwrapped.script, literal=command.exact)
            self.nested_shell((script,), 0, node)
            return
        words = _inner_words(command, unwrapped.argv)
        script_index = None
        if words and basename(words[0].text) in SHELLS:
            script_index = _shell_script_index(unwrapped.argv)
        if script_index is not None and script_index < 0:
            self.flag(Construct.NESTED_SHELL, node)
            script_index = None
        wrapped = unwrapped.argv != command.argv
        if script_index is None or wrapped:  # keep the wrapper: it must still be allowed
            self.commands.append(command)
        checked = script_index is not None and self.nested_shell(words, script_index, node)
        if script_index is not None and not checked and not wrapped:
            self.commands.append(command)

    def flag_hidden_runs(self, command: SimpleCommand, unwrapped: Unwrapped, node: Node) -> None:
        """Flag a command that runs text no rule can see: eval, a shell fed on stdin, a trap..."""
        if unwrapped.hidden:
            self.flag(Construct.DYNAMIC_COMMAND_NAME, node)
        if unwrapped.stdin_shell:
            self.flag(Construct.SHELL_INPUT, node)
        if basename(command.argv[0]) == "coproc":
            self.flag(Construct.DEFERRED, node)
        words = _inner_words(command, unwrapped.argv)
        if not words:
            return
        name = basename(words[0].text)
        args = [word.text for word in words[1:]]
        if name == "eval":
            self.flag(Construct.EVAL, node)
        elif _reads_script_from_stdin(name, words):
            self.flag(Construct.SHELL_INPUT, node)
        elif _defers_commands(name, args):
            self.flag(Construct.DEFERRED, node)

    def nested_shell(self, words: tuple[Word, ...], index: int, node: Node) -> bool:
        """Parse the -c script at `words[index]`; False (and flagged) when it cannot be checked."""
        script = words[index] if 0 <= index < len(words) else None
        if script is None or not script.literal or self.depth >= _MAX_NESTED_SHELLS:
            self.flag(Construct.NESTED_SHELL, node)
            return False
        nested = _Walker(script.text.encode(), depth=self.depth + 1)
        nested.statement(_parse_tree(nested.source))
        self.commands.extend(nested.commands)
        self.flags.extend(nested.flags)
        return True

    def word(self, node: Node) -> Word:
        """Resolve one argument node; expansions and substitutions inside are flagged."""
        kind = node.type
        if kind in ("word", "number"):
            return _unquoted_word(self.text(node))
        if kind == "raw_string":
            return Word(self.text(node)[1:-1])
        if kind == "string":
            return self.double_quoted(node)
        if kind == "ansi_c_string":
            return self.ansi_c(node)
        if kind == "concatenation":
            return self.concatenation(node)
        if kind == "brace_expression":
            return Word(self.text(node), pattern=True)
        if kind in ("command_substitution", "process_substitution"):
            self.substitution(node)
        elif kind in ("simple_expansion", "expansion", "arithmetic_expansion"):
            self.flag(Construct.EXPANSION, node)
            self.descend(node)
        else:
            self.statement(node)
        return Word(self.text(node), literal=False)

    def double_quoted(self, node: Node) -> Word:
        literal = True
        for child in node.children:
            if child.type in ('"', "string_content"):
                continue
            literal = False
            if child.is_named:
                self.word(child)
            else:
                self.flag(Construct.UNSUPPORTED, node)
        raw = self.text(node)
        if not raw.startswith('"'):
            return Word(raw, literal=False)
        return Word(_unescape_double_quoted(raw[1:-1]), literal=literal)

    def ansi_c(self, node: Node) -> Word:
        decoded = _decode_ansi_c(self.text(node)[2:-1])
        if decoded is None:
            self.flag(Construct.UNSUPPORTED, node)
            return Word(self.text(node), literal=False)
        return Word(decoded)

    def concatenation(self, node: Node) -> Word:
        parts: list[Word] = []
        position = node.start_byte
        for child in node.children:
            if child.start_byte != position or not child.is_named:
                self.flag(Construct.UNSUPPORTED, node)
            parts.append(
                self.word(child) if child.is_named else Word(self.text(child), literal=False)
            )
            position = child.end_byte
        text = "".join(part.text for part in parts)
        literal = all(part.literal for part in parts)
        unquoted = "".join(
            _mask_escapes(self.text(c)) if c.type == "word" else "_" for c in node.children
        )
        pattern = any(part.pattern for part in parts) or _is_pattern(unquoted)
        return Word(text, literal=literal, pattern=pattern)


_STATEMENT_HANDLERS = {
    "command": _Walker.command,
    "redirected_statement": _Walker.redirected_statement,
    "variable_assignment": _Walker.variable_assignment,
    "variable_assignments": _Walker.descend,
}
_CONTINUATIONS = re.compile(rb"(?:\\\n)*")
_BLANK = re.compile(rb"(?:[ \t\n]|\\\n)*")
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution", "subshell"})
_SEQUENCES = frozenset({"program", "list", "pipeline", "negated_command"})
_STATEMENT_TYPES = _SEQUENCES | _SUBSTITUTIONS | _COMPOUND_NODES | _STATEMENT_HANDLERS.keys()
_WORD_TYPES = frozenset(
    {"word", "number", "raw_string", "string", "ansi_c_string", "concatenation", "brace_expression"}
    | {"simple_expansion", "expansion", "arithmetic_expansion"}
    | {"command_substitution", "process_substitution"}
)


_FIND_EXEC_ACTIONS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def _find_exec_commands(command: SimpleCommand) -> list[SimpleCommand]:
    """The commands `find ... -exec CMD ARGS ;` would run, so forbid rules see them too."""
    words = _inner_words(command, strip_wrappers(command.argv))
    if not words or basename(words[0].text) != "find":
        return []
    found: list[SimpleCommand] = []
    start = None
    for index, word in enumerate(words):
        if start is None and word.text in _FIND_EXEC_ACTIONS:
            start = index + 1
        elif start is not None and word.text in (";", "+"):
            if index > start:
                found.append(SimpleCommand(tuple(words[start:index])))
            start = None
    if start is not None and start < len(words):
        found.append(SimpleCommand(tuple(words[start:])))
    return found


def _inner_words(command: SimpleCommand, inner: tuple[str, ...]) -> tuple[Word, ...]:
    """The words of the command a wrapper runs; `env -S` makes new ones, as exact as the line."""
    tail = command.words[len(command.words) - len(inner) :] if inner else ()
    if tuple(word.text for word in tail) == inner:
        return tail
    return tuple(Word(text, literal=command.exact) for text in inner)


_STDIN_PATH = re.compile(r"/dev/(stdin|fd/\d+)|/proc/[^/]+/fd/\d+")
# Interpreters that run a program read from stdin when given none: their short options that
# take a value, those whose value is the program itself or that print and exit (`-c`, `-V`),
# after which stdin is only data.
_STDIN_INTERPRETERS: dict[str, tuple[str, str]] = {
    "python": ("WX", "cmVh"),
    "perl": ("", "eEvV"),
    "ruby": ("IrCEF", "e"),
    "node": ("r", "epvh"),
    "php": ("cdz", "rBRFEvhim"),
    "lua": ("l", "e"),
}
_PYTHON_NAME = re.compile(r"(python|pypy)[0-9.]*")


def _names_stdin(word: Word) -> bool:
    """True for a script operand that is the line's own text: `<(...)`, /dev/stdin, /dev/fd/N."""
    process = not word.literal and word.text.startswith(("<(", ">("))
    return process or _STDIN_PATH.fullmatch(word.text) is not None


def _reads_script_from_stdin(name: str, words: tuple[Word, ...]) -> bool:
    """True when a shell, `source` or an interpreter runs commands fed to it, not a file."""
    if name in ("source", "."):
        return len(words) > 1 and _names_stdin(words[1])
    if name in SHELLS:
        values, inline = "oO", "c"  # (`bash -s` reads stdin, handled below)
    else:
        key = "python" if _PYTHON_NAME.fullmatch(name) else "node" if name == "nodejs" else name
        if key not in _STDIN_INTERPRETERS:
            return False
        values, inline = _STDIN_INTERPRETERS[key]
    index = 1
    while index < len(words):
        arg = words[index].text
        if arg == "-":
            return True
        if arg == "--":
            index += 1
            break
        if arg in ("--version", "--help"):
            return False
        if arg.startswith("--"):
            index += 1
            continue
        if arg[:1] not in ("-", "+"):
            break
        letters, value = split_short_cluster(arg, values)
        if set(letters) & set(inline):
            return False  # the program is an argument (`-c`, `-e`), stdin is only data
        if name in SHELLS and "s" in letters:
            return True  # `sh -s`: commands from stdin, words as arguments
        index += 2 if value == "" else 1
    return index >= len(words) or _names_stdin(words[index])


def _defers_commands(name: str, args: list[str]) -> bool:
    """`trap CMD SIG`, `alias x=CMD`, `hash -p PATH x`, `enable -f LIB x` run code later."""
    if name == "trap":
        return any(arg not in ("-l", "-p", "--") for arg in args)
    if name == "alias":
        return any("=" in arg for arg in args)
    if name in ("hash", "enable"):
        letter = "p" if name == "hash" else "f"
        return any(arg.startswith("-") and letter in arg for arg in args)
    return False


def _shell_script_index(argv: Sequence[str]) -> int | None:
    """Where the -c script of a shell invocation is; None if it runs a file or stdin.

    -1 when an option we do not understand comes with `c`, so the script cannot be located.
    """
    saw_c = False
    index = 1
    while index < len(argv):
        arg = argv[index]
        if arg in ("-o", "+o", "-O", "+O"):
            index += 2
        elif arg in _SHELL_LONG_OPTIONS:
            index += 1
        elif arg == "--" or arg in ("-", "+") or arg[:1] not in ("-", "+"):
            break
        elif _SHELL_OPTION.fullmatch(arg):
            saw_c = saw_c or "c" in arg
            index += 1
        else:
            return -1 if "c" in arg or saw_c else None
    if not saw_c:
        return None
    return index + 1 if index < len(argv) and argv[index] == "--" else index


def _joined(first: Word, second: Word) -> Word:
    return Word(
        first.text + second.text,
        literal=first.literal and second.literal,
        pattern=first.pattern or second.pattern,
    )


def _unquoted_word(raw: str) -> Word:
    """Resolve the backslash escapes of an unquoted word and note whether the shell globs it."""
    text = re.sub(
        r"\\(.)", lambda m: "" if m.group(1) == "\n" else m.group(1), raw, flags=re.DOTALL
    )
    return Word(text, pattern=_is_pattern(_mask_escapes(raw)))


def _mask_escapes(raw: str) -> str:
    """Replace each backslash-escaped character by `_` so only live glob characters remain."""
    return re.sub(r"\\.", "_", raw, flags=re.DOTALL)


def _is_pattern(unquoted: str) -> bool:
    """True when bash would glob or brace-expand this unquoted text into other words."""
    return re.search(r"[*?]|\[[^\]]*\]|\{[^{}]*(,|\.\.)[^{}]*\}", unquoted) is not None


def _unescape_double_quoted(body: str) -> str:
    return re.sub(r'\\([$`"\\\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), body)


_ANSI_C_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ANSI_C_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|u[0-9A-Fa-f]{1,4}|.)", re.DOTALL)


def _decode_ansi_c(body: str) -> str | None:
    """Decode the body of `$'...'`; None for escapes we do not model (such as `\\cX`)."""
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        escape = match.group(1)
        if escape in _ANSI_C_SIMPLE:
            return _ANSI_C_SIMPLE[escape]
        if escape[0] in "xu" and len(escape) > 1:
            return chr(int(escape[1:], 16))
        if escape[0] in "01234567":
            return chr(int(escape, 8))
        unknown = True
        return ""

    decoded = _ANSI_C_ESCAPE.sub(replace, body)
    # bash ends the string at a NUL byte: `$'rm\0x'` runs `rm`.
    return None if unknown else decoded.split("\0", 1)[0]
