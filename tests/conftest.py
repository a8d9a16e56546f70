"""Shared pytest configuration: the scripted model server fixtures."""

pytest_plugins = ["tests.model_server.pytest_plugin"]
