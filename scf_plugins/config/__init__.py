"""The organization's config file turned into typed settings (:mod:`.settings`), and the
credentials kept out of it (:mod:`.credentials`).

May import the host's contract (models, errors) and ``net.redaction``; nothing that runs.
"""
