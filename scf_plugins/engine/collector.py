"""The garbage collector's pace for a process that runs the engine.

A poll makes about ten small container objects per issue polled (the row read, the
``Tracked`` sent, the record read, the ``RemoteUpdate`` returned) and drops them a batch
later. At CPython's default pace the cyclic collector then runs about once per 70 issues, and
every hundredth run walks every live object of the process: about a tenth of a poll's CPU
(``make bench``), spent finding no cycles, since what a poll makes dies by reference counting.
Collecting after 10,000 new objects instead of 700 keeps that to a few runs per 100,000
issues; the memory it can leave waiting is a few megabytes at most.
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
