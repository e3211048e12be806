"""The organization's config file turned into typed settings, a module per section.

- :mod:`.settings`: the entry point: :func:`~.settings.load_config`,
  :func:`~.settings.check_config` and :class:`~.settings.Settings`;
- :mod:`.reader`: typed values read from a table, every mistake kept as one problem line;
- :mod:`.organization`, :mod:`.integrations`, :mod:`.geocoders`, :mod:`.server`, :mod:`.console`,
  :mod:`.images`: one section each, its keys and how it is read; :mod:`.email`: the
  ``[email]``, ``[notifications]`` and ``[privacy]`` sections (writing to residents);
- :mod:`.messages`: the texts residents read, their defaults and placeholders (the engine
  renders them);
- :mod:`.credentials`: the passwords kept out of the config;
- :mod:`.watch`: a changed config file noticed and checked in a long run.

May import the host's contract (models, errors), ``net.redaction`` and the values of
``intake`` (the service area, image limits); nothing that runs a pass or serves.
"""
