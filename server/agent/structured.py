"""A turn with an output schema (`turn/start {outputSchema}`): its final message is JSON of it.

Every model call of the turn carries the schema as the endpoint's structured output
(`model.OutputFormat`: Responses `text.format`, Chat Completions `response_format`), the way
Codex sends its `--output-schema`; tool calls go on as usual and the answer without one is the
JSON. An endpoint that refuses the parameter (a 400 naming it: many local servers, older
models) is asked in the instructions instead for the rest of the turn. Either way the final
message is read as JSON and checked (`server.output_schema`); when it fails, the problem goes
back to the model once, and the turn ends with whatever the second answer is (the caller, who
knows what the JSON is for, decides what a bad one means).
"""

from __future__ import annotations

import json
from typing import Any

from server.agent.model import OutputFormat
from server.output_schema import answer_problem, schema_prompt, strict_compatible

FORMAT_NAME = "tether_output"


class StructuredTurn:
    """The output schema of one turn, and what the turn has learnt about the endpoint."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._format = OutputFormat(FORMAT_NAME, schema, strict_compatible(schema))
        self.refused = False
        """The endpoint refused the structured output; the instructions carry the schema."""
        self._retried = False

    def output_format(self) -> OutputFormat | None:
        return None if self.refused else self._format

    def endpoint_refused(self) -> None:
        self.refused = True

    def instructions(self) -> str | None:
        """What the instructions add: the schema, once the endpoint refused to take it."""
        return schema_prompt(self.schema) if self.refused else None

    def correction(self, final_text: str) -> str | None:
        """The message that sends a final answer back (once) when it is not JSON of the
        schema; None when it is, or when it was sent back already."""
        if self._retried:
            return None
        _value, problem = answer_problem(final_text, self.schema)
        if problem is None:
            return None
        self._retried = True
        return (
            f"Your answer cannot be used: {problem}. Answer again with only a JSON value "
            f"(no prose, no code fence) that matches this JSON Schema:\n{json.dumps(self.schema)}"
        )
