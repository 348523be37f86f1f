"""Mirrors ``paddle.nn``: ``paddlefocal.nn.functional`` holds the loss."""

from . import functional

__all__ = ["functional"]
