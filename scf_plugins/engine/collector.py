"""The garbage collector's pace for a process that runs the engine.

A poll makes about ten small container objects per issue polled (the row read, the
``Tracked`` sent, the record read, the ``RemoteUpdate`` returned) and drops them a batch
later. At CPython's default pace (a collection per 700 new objects) the cyclic collector ran
about 1,200 times in a poll of 100,000 issues and walked every live object of the process
nine times: about a tenth of the poll's CPU (``make bench``), finding almost nothing, since
what a poll makes dies by reference counting. Collecting after 10,000 new objects makes that
about fifty runs and no walk of the whole. What it leaves waiting is only what is caught
in a reference cycle, for at most 10,000 more objects' time.
"""

from __future__ import annotations

import gc

YOUNG = 10_000  # new container objects between two collections of the youngest generation


def pace() -> None:
    """Collect after :data:`YOUNG` new objects, unless the process already asked for fewer
    runs (a higher threshold), or turned the collector off."""
    young, middle, old = gc.get_threshold()
    if gc.isenabled() and 0 < young < YOUNG:
        gc.set_threshold(YOUNG, middle, old)
