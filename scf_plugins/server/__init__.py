"""``scf serve``: the Open311 GeoReport v2 door, health, and the engine in the same process.

:mod:`.open311` holds the resources (no HTTP in it), :mod:`.formats` the JSON and XML,
:mod:`.web` the routes and limits, :mod:`.running` the server and the engine beside it.
"""
