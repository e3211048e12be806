"""The SMTP sink tests and the demo write to (:class:`SmtpSink`: faults, messages kept), from
:mod:`scf_plugins.net.smtp_sink`, where ``scf emulator smtp`` can reach it too (the command
line may not import this package, which imports it)."""

from __future__ import annotations

from ..net.smtp_sink import Received, SmtpSink

__all__ = ["Received", "SmtpSink"]
