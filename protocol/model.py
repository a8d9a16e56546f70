"""Models the user can pick."""

from protocol.base import Wire


class ModelInfo(Wire):
    id: str


class ModelListResult(Wire):
    models: list[ModelInfo]
    default: str | None
