"""The sync engine: the pass (:mod:`.loop`), and one module per step, each taking the small
:class:`~.context.StepContext` the loop builds, never the engine: :mod:`.submit`,
:mod:`.resolve`, :mod:`.poll`, :mod:`.comments`, :mod:`.photos` (their shared rules:
:mod:`.outbox`), :mod:`.notifications` (residents' emails; the mail server's circuit is
:mod:`.mail_server`, each letter :mod:`.letters`) and :mod:`.archive` (with photo and contact
retention: :mod:`.retention`, :mod:`.contact_retention`).

What the steps share, below them (no step imports another): an issue's status changes
(:mod:`.transitions`), posting its messages (:mod:`.posting`; their texts are
:mod:`scf_plugins.config.messages`; the emails they queue: :mod:`.notify`), retries and
back-off (:mod:`.retries`), pending tokens (:mod:`.pending`), attention flags
(:mod:`.attention`), linking a created request (:mod:`.linking`), checks of what a plugin
returns (:mod:`.answers`, :mod:`.updates`), remote activity and comments (:mod:`.inbox`),
circuits, leases, work a dead worker left in flight (:mod:`.inflight`), poll rounds, photo
retention and pass outcomes.

The email a resident gets for a notification: :mod:`.letters` (its templates in
``templates/email/``).

Beside the loop: :mod:`.gate` (trips, pauses, circuit reads), :mod:`.heartbeat`,
:mod:`.status_notes`, :mod:`.continuous` (a long run's loops, sleeping until
:mod:`.schedule` says their work is due) and :mod:`.refresh_types`. Nothing imports
:mod:`.loop` but the callers of the engine.

May import the host's contract (models, errors, plugins), ``config``, ``store``, ``net``,
``intake`` and ``ops``; never ``server`` or ``cli``.
"""
