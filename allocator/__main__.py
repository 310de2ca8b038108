"""``python -m allocator`` runs the command line."""

from .cli import entry

entry()
