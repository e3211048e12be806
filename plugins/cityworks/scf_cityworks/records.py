"""Reading ``ServiceRequest/ByIds`` answers without building every field of every record.

A ``RequestBase`` has over a hundred fields (about 2 KB of JSON), and a poll reads 500 of them
per call, but polling needs five or six: decoding whole records costs more CPU than the rest
of a poll together. A typed msgspec decoder builds only the fields asked for and skips the
rest in C.

The fast reading is an optimisation, never a second set of rules: an answer it cannot read
(a record that is not an object, a ``Value`` that is not a list) makes :func:`decoder` raise
``ValueError``, and the client then reads the answer the general way, so a misbehaving server
is judged exactly as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

# What polling reads of a request, besides the fields activity rules watch.
POLLED_FIELDS = ("RequestId", "Status", "OtherSystemId", "IsClosed", "CancelReason")
# What the client reads of the envelope (status, errors and warnings).
ENVELOPE_FIELDS = ("Status", "Message", "ErrorMessages", "WarningMessages")

Decoder = Callable[[bytes], dict[str, Any]]


@functools.lru_cache(maxsize=16)  # one per set of watched fields, built once
def decoder(watched: tuple[str, ...] = ()) -> Decoder:
    """A function reading a ``ByIds`` answer into the envelope dict the client returns, each
    record a dict holding only the polled and ``watched`` fields (absent ones as None).

    :raises ValueError: when the answer is not JSON, or not shaped as a ``ByIds`` answer.
    """
    names = tuple(dict.fromkeys((*POLLED_FIELDS, *watched)))
    record = msgspec.defstruct(
        "RequestRecord", [(name, Any, None) for name in names], forbid_unknown_fields=False
    )
    envelope = msgspec.defstruct(
        "ByIdsEnvelope",
        [
            *((name, Any, msgspec.UNSET) for name in ENVELOPE_FIELDS),
            ("Value", list[record] | None, msgspec.UNSET),  # type: ignore[valid-type]
        ],
    )
    read = msgspec.json.Decoder(envelope).decode
    as_dict = msgspec.structs.asdict

    def decode(content: bytes) -> dict[str, Any]:
        answer: Any = read(content)
        body = {
            name: value
            for name in ENVELOPE_FIELDS
            if (value := getattr(answer, name)) is not msgspec.UNSET
        }
        if answer.Value is not msgspec.UNSET:
            body["Value"] = None if answer.Value is None else _dicts(answer.Value, as_dict)
        return body

    return decode


def _dicts(records: Iterable[Any], as_dict: Callable[[Any], dict[str, Any]]) -> list[Any]:
    return [as_dict(r) for r in records]
