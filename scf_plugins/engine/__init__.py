"""The sync engine: the pass loop (:mod:`.loop`), one module per step (:mod:`.submit`,
:mod:`.resolve`, :mod:`.poll`, :mod:`.comments`, :mod:`.photos`, :mod:`.retention`), and
what the steps share: the outbox, transitions and their messages, circuits, leases, rounds
and pass outcomes.

May import the host's contract (models, errors, plugins), ``config``, ``store``, ``net``,
``intake`` and ``ops``; never ``server`` or ``cli``.
"""
