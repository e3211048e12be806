"""The Staff page (admin): ``/console/staff``, the console's accounts.

Each account's name, role, state (active, disabled, locked after failed sign-ins) and last
sign-in; ``Create account`` (``Username``, ``Role``, ``Password``), ``Disable`` and ``Reset
password`` per account, through :mod:`scf_plugins.ops.staff` (the same functions as ``scf
staff``, audited; disabling or resetting ends the account's sessions). An administrator
cannot disable their own account: another administrator must.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...ops import staff
from .page import Console, Visit, admin_only

PATH = "/console/staff"
NOT_YOURSELF = "You cannot disable your own account; another administrator can."


def routes(console: Console) -> list[BaseRoute]:
    """The accounts, and creating, disabling and resetting one."""
    return [
        console.route(PATH, accounts),
        console.route(PATH + "/create", create, methods=("POST",)),
        console.route(PATH + "/disable", disable, methods=("POST",)),
        console.route(PATH + "/reset", reset, methods=("POST",)),
    ]


@admin_only
async def accounts(visit: Visit) -> Response:
    """Every account, disabled ones included, with its state at this moment."""
    listed = await visit.run(staff.listed, visit.store)
    return visit.render("staff.html", "Staff", accounts=listed, now=visit.now(), roles=staff.ROLES)


@admin_only
async def create(visit: Visit) -> Response:
    """``Create account``."""
    name = visit.form.get("username") or ""
    role = visit.form.get("role") or ""
    password = visit.form.raw("password")
    return await visit.act(
        lambda: staff.create(visit.store, name, role, password, actor=visit.actor),
        back=PATH,
        done=f"Created the {role} account {name}.",
    )


@admin_only
async def disable(visit: Visit) -> Response:
    """``Disable``: the account cannot sign in, and its sessions end at once."""
    name = visit.form.get("name") or ""
    if name == visit.account.name:
        return visit.redirect(PATH, NOT_YOURSELF, error=True)
    return await visit.act(
        lambda: staff.disable(visit.store, name, actor=visit.actor),
        back=PATH,
        done=f"Disabled the account {name}; its sessions have ended.",
    )


@admin_only
async def reset(visit: Visit) -> Response:
    """``Reset password``: a new password, the lock cleared, the account's sessions ended
    (your own included: you sign in again with the new one)."""
    name = visit.form.get("name") or ""
    password = visit.form.raw("password")
    return await visit.act(
        lambda: staff.reset(visit.store, name, password, actor=visit.actor),
        back=PATH,
        done=f"Reset the password of {name}; its sessions have ended.",
    )
