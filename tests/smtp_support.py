"""A real SMTP peer on loopback for the e-mail tests: a tiny server (socketserver, one thread per
connection) that speaks enough SMTP for Django's SMTP backend, and answers the recipient with
whatever the test sets (451 "try again later", 554 "rejected"), or accepts and keeps the
message."""

from __future__ import annotations

import socket
import socketserver
import threading
from email import message_from_bytes, policy
from email.message import Message

import pytest


class SMTPPeer:
    def __init__(self):
        self.refusal: str | None = None  # e.g. "451 4.3.0 Try again later"; None accepts
        self.commands: list[str] = []
        self.messages: list[Message] = []
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.peer = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def refuse(self, reply: str) -> None:
        self.refusal = reply

    def accept(self) -> None:
        self.refusal = None

    def recipients_asked(self) -> int:
        """How many times a client gave a recipient (one per delivery attempt here)."""
        return sum(1 for c in self.commands if c == "RCPT")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        peer = self.server.peer
        self.reply("220 smtp.test ESMTP")
        data: list[bytes] | None = None
        for raw in self.rfile:
            if data is not None:  # inside DATA
                if raw.rstrip(b"\r\n") == b".":
                    peer.messages.append(message_from_bytes(b"".join(data), policy=policy.default))
                    data = None
                    self.reply("250 2.0.0 queued")
                else:
                    data.append(raw[1:] if raw.startswith(b"..") else raw)
                continue
            verb = raw[:4].decode("ascii", "replace").upper()
            peer.commands.append(verb)
            if verb in ("EHLO", "HELO"):
                self.reply("250 smtp.test")
            elif verb in ("MAIL", "RSET", "NOOP"):
                self.reply("250 2.0.0 OK")
            elif verb == "RCPT":
                self.reply(peer.refusal or "250 2.1.5 OK")
            elif verb == "DATA":
                data = []
                self.reply("354 end data with <CR><LF>.<CR><LF>")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.1 not implemented")


def use_smtp(settings, port: int) -> None:
    """Django sends through its real SMTP backend to 127.0.0.1:`port`."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_peer(settings):
    peer = SMTPPeer()
    use_smtp(settings, peer.port)
    yield peer
    peer.close()
