"""The console's own paths, and where a person may be sent: never outside the console, so a
link cannot use the sign-in page to send someone to another site."""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.requests import Request

HOME = "/console/"
LOGIN = "/console/login"


def inside(value: str) -> bool:
    """Whether ``value`` is a path (and query) inside the console, and nothing a browser
    could read as another host, nor resolve out of the console by its dot segments."""
    return (
        value.startswith(HOME)
        and "\\" not in value
        and "//" not in value
        and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
        and not _climbs(value.partition("?")[0])
    )


def _climbs(path: str) -> bool:
    """Whether a path has a ``.`` or ``..`` segment, however it is percent-encoded (``%2e``,
    ``..%2F``): a browser resolves those before it asks, so ``/console/../x`` is ``/x``."""
    for _ in range(3):  # encoded more than once still decodes to dots within a few rounds
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    return any(segment in (".", "..") for segment in path.replace("\\", "/").split("/"))


def safe_next(value: str | None) -> str:
    """``value`` when it is a console page to go on to after signing in, else the overview."""
    if value is None or not inside(value) or value.startswith(LOGIN):
        return HOME
    return value


def login_url(next_path: str | None = None) -> str:
    """The sign-in page, coming back to ``next_path`` (a console path) after."""
    target = safe_next(next_path)
    return LOGIN if target == HOME else f"{LOGIN}?next={quote(target, safe='/')}"


def here(request: Request) -> str:
    """The path (and query) a GET asked for, to come back to after signing in; a POST's
    page is not one to come back to by GET, so the overview."""
    if request.method not in ("GET", "HEAD"):
        return HOME
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
