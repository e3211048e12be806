"""``scf emulator arcgis``: serve the fake GeocodeServer, to try address validation and holds."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from .fake import DEFAULT_PLACES, FakeGeocodeServer


@click.command("arcgis")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8898, show_default=True, type=click.IntRange(0, 65535))
def emulator_command(host: str, port: int) -> None:
    """Serve a fake ArcGIS GeocodeServer with a small New Haven address book (the addresses
    are printed); anything else gets no candidates, so an issue can be held and released."""
    try:
        server = FakeGeocodeServer(host=host, port=port)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port "
            f"(0: any free one)"
        ) from None
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    with server:
        click.echo(f"ArcGIS GeocodeServer (fake) at {server.url}")
        click.echo("Use it in scf.toml:")
        click.echo(
            f'  [geocoders.county_gis]\n  plugin = "arcgis"\n  url = "{server.url}"\n'
            f'  on_reject = "hold"\n\n  [integrations.cityworks]\n'
            f'  address_validation = "county_gis"'
        )
        click.echo("It knows: " + "; ".join(p.address for p in DEFAULT_PLACES) + ". Ctrl-C stops.")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
