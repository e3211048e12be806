"""The HTTP client policy every plugin uses (:mod:`.http`): deadlines for the whole of a
call, caps on answers, redirects and redaction of secrets; look-only calls, in which nothing
that changes the remote system is sent (:mod:`.lookonly`); and the reading of answers that do
not decode whole (:mod:`.salvage`, :mod:`.lenient_json`, :mod:`.lenient_xml`); and sending an
email through the mail server, under the same deadlines (:mod:`.smtp`), and a mail server on
127.0.0.1 that keeps what it is sent, for tests, the demo and ``scf emulator smtp``
(:mod:`.smtp_sink`).

May import the host's errors and :mod:`scf_plugins.ops.telemetry`; nothing else of the host
(but, for type hints only, the ``[email]`` settings and ``Secret`` that :mod:`.smtp` takes).
"""
