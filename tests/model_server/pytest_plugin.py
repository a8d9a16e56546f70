"""Pytest fixtures for the scripted model server (filled in by its author)."""
