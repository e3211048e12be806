"""The one place plugins keep a resource per integration: built once, given back while the
settings stay the same, rebuilt (the old one closed) when they or the credentials change,
closed at exit."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading

import pytest

from scf_plugins import Geocoder, Integration, Secret, resource_for
from scf_plugins.resources import close_resources
from scf_plugins.testing import make_integration


class Client:
    """A resource that counts its builds and knows whether it was closed."""

    built: list[Client] = []

    def __init__(self, settings: Integration | Geocoder) -> None:
        self.settings = settings
        self.closed = False
        Client.built.append(self)

    def close(self) -> None:
        self.closed = True


def test_one_resource_per_integration_until_its_settings_or_credentials_change() -> None:
    Client.built = []
    works = make_integration("acme", "http://127.0.0.1:9/a")
    first = resource_for(works, Client)
    assert resource_for(dataclasses.replace(works), Client) is first  # equal settings, again
    moved = dataclasses.replace(works, url="http://127.0.0.1:9/b")
    second = resource_for(moved, Client)
    assert second is not first and first.closed and not second.closed
    rekeyed = dataclasses.replace(moved, password=Secret("Another-Pass-7781"))
    third = resource_for(rekeyed, Client)
    assert third is not second and second.closed
    secret = dataclasses.replace(rekeyed, secrets={"app_secret": Secret("App-Secret-1")})
    assert resource_for(secret, Client) is not third and third.closed
    # Another environment, another integration, a geocoder: each its own.
    production = dataclasses.replace(secret, environment="production")
    other = dataclasses.replace(secret, name="other")
    gis = Geocoder(name="acme", plugin="arcgis", url="http://127.0.0.1:9/gis")
    kept = [resource_for(s, Client) for s in (secret, production, other, gis)]
    assert len({id(k) for k in kept}) == 4 and not any(k.closed for k in kept)
    close_resources()
    assert all(k.closed for k in kept)
    assert resource_for(secret, Client) is not kept[0]


def test_a_resource_is_built_once_for_many_threads() -> None:
    Client.built = []
    works = make_integration("threads", "http://127.0.0.1:9/t")
    got: list[Client] = []
    threads = [threading.Thread(target=lambda: got.append(resource_for(works, Client)))
               for _ in range(16)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(got) == 16 and len({id(c) for c in got}) == 1 and len(Client.built) == 1


def test_two_builders_keep_two_resources_and_one_without_close_is_fine() -> None:
    works = make_integration("two", "http://127.0.0.1:9/2")
    client = resource_for(works, Client)
    names = resource_for(works, lambda s: {"name": s.name})
    assert names == {"name": "two"} and resource_for(works, Client) is client
    close_resources()  # a dict has no close(): left alone


@pytest.mark.slow  # a subprocess
def test_resources_are_closed_when_the_process_exits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    flag = tmp_path / "closed"
    probe = (
        "from scf_plugins import resource_for\n"
        "from scf_plugins.testing import make_integration\n"
        "class R:\n"
        "    def __init__(self, s):\n"
        "        pass\n"
        "    def close(self):\n"
        f"        open({str(flag)!r}, 'w').write('yes')\n"
        "resource_for(make_integration('exit'), R)\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)
    assert flag.read_text() == "yes"
