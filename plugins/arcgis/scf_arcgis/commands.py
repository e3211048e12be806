"""``scf emulator arcgis``: serve the fake GeocodeServer, to try address validation and holds."""

from __future__ import annotations

import click

from scf_plugins.testing import standins

from .fake import DEFAULT_PLACES, FakeGeocodeServer


@click.command("arcgis")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8898, show_default=True, type=click.IntRange(0, 65535))
def emulator_command(host: str, port: int) -> None:
    """Serve a fake ArcGIS GeocodeServer with a small New Haven address book (the addresses
    are printed); anything else gets no candidates, so an issue can be held and released."""
    server = standins.bind(lambda: FakeGeocodeServer(host=host, port=port), host, port)
    with server:
        click.echo(f"ArcGIS GeocodeServer (fake) at {server.url}")
        click.echo("Use it in scf.toml:")
        click.echo(
            f'  [geocoders.county_gis]\n  plugin = "arcgis"\n  url = "{server.url}"\n'
            f'  on_reject = "hold"\n\n  [integrations.cityworks]\n'
            f'  address_validation = "county_gis"'
        )
        click.echo("It knows: " + "; ".join(p.address for p in DEFAULT_PLACES) + ". Ctrl-C stops.")
        standins.wait_until_stopped()
