"""The cache of request types each integration offers (refreshed by ``scf types refresh``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from ..models import RequestType
from ..timeutil import utcnow
from .base import StoreBase
from .rows import request_type_from_json, request_type_to_json
from .tables import request_types


class RequestTypeCache(StoreBase):
    """Reading and replacing the cached request types."""

    def replace_request_types(self, integration: str, types: Sequence[RequestType]) -> None:
        """Replace the cached request types of one integration with ``types``."""
        now = utcnow()
        with self.transaction() as conn:
            conn.execute(request_types.delete().where(request_types.c.integration == integration))
            codes = [rt.code for rt in types]
            if codes:
                conn.execute(request_types.delete().where(request_types.c.code.in_(codes)))
                conn.execute(
                    request_types.insert(),
                    [
                        {
                            "code": rt.code,
                            "integration": integration,
                            "name": rt.name,
                            "definition": request_type_to_json(rt),
                            "fetched_at": now,
                        }
                        for rt in types
                    ],
                )

    def request_types(self) -> list[RequestType]:
        """All cached request types, by integration then code."""
        with self.read() as conn:
            rows = conn.execute(
                select(request_types.c.definition).order_by(
                    request_types.c.integration, request_types.c.code
                )
            ).scalars()
            return [request_type_from_json(text) for text in rows]

    def request_type(self, code: str) -> RequestType | None:
        """One cached request type, or None."""
        with self.read() as conn:
            text = conn.execute(
                select(request_types.c.definition).where(request_types.c.code == code)
            ).scalar()
        return request_type_from_json(text) if text else None
