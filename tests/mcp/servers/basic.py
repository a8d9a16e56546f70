"""A small stdio MCP server for the tests, written with the SDK's server side.

Tools: `echo` (read-only, closed world: runs unasked), `add` (structured output), `write_note`
(writes a file: asks outside fullAccess), `picture` (an image), `fail` (isError), `big` (more
than the 25k-token cap), `ask` (form elicitation), `login` (url elicitation), `sleep` (hangs
for the timeout tests), `crash` (the process dies mid-call), `try_network` and `try_write`
(what the sandbox must stop, attempted in the server's own code), `env` (its environment).
"""

from __future__ import annotations

import base64
import os
import socket
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ImageContent, ToolAnnotations
from pydantic import BaseModel

server = MCPServer("basic")
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode()

if os.environ.get("BASIC_BANNER"):
    print("this is not JSON-RPC: a server printing a banner", flush=True)


@server.tool(annotations=READ_ONLY)
def echo(text: str) -> str:
    """Echo the text back."""
    if os.environ.get("BASIC_BANNER"):
        print("more garbage on stdout in the middle of a session", flush=True)
    return f"echo: {text}"


@server.tool(annotations=READ_ONLY)
def add(a: int, b: int) -> dict[str, int]:
    """Add two numbers."""
    return {"sum": a + b}


@server.tool()
def write_note(path: str, text: str) -> str:
    """Write a note to a file."""
    Path(path).write_text(text)
    return f"wrote {path}"


@server.tool(annotations=READ_ONLY)
def picture() -> list[str | ImageContent]:
    """A 1x1 PNG."""
    return ["a picture:", ImageContent(type="image", data=PNG, mime_type="image/png")]


@server.tool(annotations=READ_ONLY)
def fail() -> str:
    """Always fails."""
    raise ToolError("this tool always fails")


@server.tool(annotations=READ_ONLY)
def big() -> str:
    """A result larger than the cap."""
    return "".join(f"line {i:06d} of a very long result\n" for i in range(20_000))


class Answer(BaseModel):
    name: str
    ok: bool


@server.tool(annotations=READ_ONLY)
async def ask(ctx: Context) -> str:
    """Ask the user a question (form elicitation)."""
    result = await ctx.elicit("What is your name?", Answer)
    if result.action == "accept":
        return f"the user said {result.data.name} ({result.data.ok})"
    return f"the user chose {result.action}"


@server.tool(annotations=READ_ONLY)
async def login(ctx: Context) -> str:
    """Send the user to a page (url elicitation)."""
    result = await ctx.elicit_url("Sign in, please", "https://example.invalid/login", "e1")
    return f"url elicitation: {result.action}"


@server.tool(annotations=READ_ONLY)
def sleep(seconds: float) -> str:
    """Sleep."""
    time.sleep(seconds)
    return "slept"


@server.tool(annotations=READ_ONLY)
def crash() -> str:
    """The process dies mid-call."""
    Path(os.environ.get("BASIC_CRASH_MARK", "/dev/null")).write_text("crashed")
    os._exit(3)


@server.tool(annotations=READ_ONLY)
def try_network(host: str, port: int) -> str:
    """Connect to host:port."""
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(b"hello\n")
        return "connected"
    except OSError as exc:
        return f"refused: {exc}"


@server.tool(annotations=READ_ONLY)
def try_write(path: str) -> str:
    """Write a file anywhere."""
    try:
        Path(path).write_text("written by an MCP server\n")
        return "written"
    except OSError as exc:
        return f"refused: {exc}"


@server.tool(annotations=READ_ONLY)
def env(name: str) -> str:
    """One environment variable."""
    return os.environ.get(name, "<unset>")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
