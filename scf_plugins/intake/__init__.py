"""What comes in from residents: reports and their one validation path (:mod:`.reporting`),
photos (:mod:`.images`), the service area (:mod:`.area`), places a geocoder answers, held to
the same point check (:mod:`.places`), the request-type catalog (:mod:`.catalog`) and text
cleaning (:mod:`.sanitize`).

May import the host's contract, ``config`` and ``store``; never the engine, ``server`` or
``cli``.
"""
