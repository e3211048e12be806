"""What operators see: ``scf status`` (:mod:`.status`), ``scf doctor`` (:mod:`.doctor`),
advice on the config (:mod:`.advice`), telemetry and metrics (:mod:`.telemetry`), log
set-up (:mod:`.logs`) and the issue views the CLI prints (:mod:`.views`).

May import the host's contract, ``config``, ``store``, ``net`` and ``intake``; never
``server`` or ``cli``.
"""
