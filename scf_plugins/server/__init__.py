"""``scf serve``: the Open311 GeoReport v2 door, health, and the engine in the same process.

- :mod:`.open311`: the resources, apart from HTTP; what a client sends is read and checked
  by :mod:`.form`, what the GETs read comes from :mod:`.records`, and how services,
  requests and updates look is :mod:`.documents` (written as JSON or XML by :mod:`.formats`);
  who may post a resident's update, on which issues and how many, is :mod:`.posted_updates`;
- :mod:`.web`: the routes, the access log and the checks every POST passes; bodies read
  within their caps in :mod:`.bodies`, the rate limit in :mod:`.limits`, ``/healthz`` and
  ``/metrics`` in :mod:`.health`; API keys in :mod:`.apikeys`; who may read ``/metrics``
  and the GETs' rate per address in :mod:`.guards`, CORS in :mod:`.cors`, refusals in the
  path's format in :mod:`.refusals`; the server's own failures named in :mod:`.faults`;
- :mod:`.running`: the server and the engine beside it.

May import the host's contract and every core package (``config``, ``store``, ``net``,
``intake``, ``ops``, ``engine``); never ``cli``.
"""
