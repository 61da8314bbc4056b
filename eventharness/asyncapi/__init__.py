"""AsyncAPI in and out: import (2.6, 3.0, 3.1), check, export, scaffold; the integration map."""

from __future__ import annotations

from eventharness.asyncapi.model import Channel, Document, Message, Operation, Server
from eventharness.asyncapi.reader import load_document

__all__ = ["Channel", "Document", "Message", "Operation", "Server", "load_document"]
