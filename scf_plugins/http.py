"""One well-configured ``requests`` session per remote system, for plugins to share.

requests re-reads proxy and CA-bundle environment variables on every call when
``trust_env`` is on, which costs more CPU than the rest of a small call. The session built
here reads them once, at creation, and keeps what they said.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests


def new_session(
    url: str, verify: bool | str, *, pool_size: int = 4, user_agent: str = "scf-plugins"
) -> requests.Session:
    """A keep-alive session for ``url``: TLS verification as configured, proxies from the
    environment (``HTTPS_PROXY``…, ``NO_PROXY``) resolved once, a pool of ``pool_size``."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(url))
    if verify is True:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        session.verify = bundle or True
    else:
        session.verify = verify
    session.trust_env = False
    session.headers["User-Agent"] = user_agent
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(4, pool_size))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
