"""The store: its tables (:mod:`.tables`), the :class:`~.store.Store` API that changes them
only inside transactions, and links between issues and remote requests (:mod:`.links`).

May import the host's contract (models, errors) and ``intake`` values; nothing that runs a
pass or serves HTTP.
"""
