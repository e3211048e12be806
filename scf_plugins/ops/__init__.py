"""What operators see and do, behind the CLI's commands (which only parse and print):

- seeing: ``scf status`` (:mod:`.status`, its figures in :mod:`.counts` and :mod:`.health`,
  whether the sync loops go round in :mod:`.liveness`, gauges in :mod:`.metrics`), ``scf
  doctor`` (:mod:`.doctor`), ``scf config check`` (:mod:`.config_check`), ``scf plugins``
  (:mod:`.plugins`), ``scf links``, advice on the config (:mod:`.advice`), issues listed and
  searched (:mod:`.finding`), what an issue's state allows (:mod:`.allowed`), and how issues
  and request types are shown (:mod:`.views`);
- doing: issues by hand (:mod:`.issues`, ``issues retry`` in :mod:`.retrying`, request
  types in :mod:`.request_types`), links of another environment (:mod:`.links`), what
  ``credentials set`` does beside storing (:mod:`.credentials`), a resident's unsubscribe
  (:mod:`.consent`: signed tokens, opt-outs), residents' emails listed and ``notifications
  retry`` (:mod:`.notifying`);
- telemetry (:mod:`.telemetry`) and log set-up (:mod:`.logs`).

May import the host's contract, ``config``, ``store``, ``net``, ``intake``, and the engine's
modules that read or change state for an operator (transitions, circuits, retention,
leases, inflight, mail_server); never ``engine.loop``, ``server`` or ``cli``. The engine
imports only :mod:`.telemetry`, :mod:`.advice`, :mod:`.health` and :mod:`.consent`, which
import nothing of the engine.
Modules the CLI imports at start-up load SQLAlchemy only inside the functions that use a
store.
"""
