"""Reading a poll's answers: ``ServiceRequest/ByIds`` without building every field of every
record, and both it and ``Comment/ByActivitySids`` record by record when part of an answer
cannot be read.

A ``RequestBase`` has over a hundred fields (about 2 KB of JSON), and a poll reads 500 of them
per call, but polling needs five or six: decoding whole records costs more CPU than the rest
of a poll together. A typed msgspec decoder builds only the fields asked for and skips the
rest in C.

The fast reading is an optimisation, never a second set of rules: an answer it cannot read
(a record that is not an object, a ``Value`` that is not a list) makes :func:`decoder` raise
``ValueError``, and the client then reads the answer the general way, so a misbehaving server
is judged exactly as before.

An answer that cannot be read whole comes as :class:`~scf_plugins.Salvaged`
(``CityworksClient.call_records``): :func:`requests_of` and :func:`comments_of` sort it into
what can be applied and what cannot, request by request, so one damaged record costs only its
own issue.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, ClassVar

import msgspec

from scf_plugins import Salvaged

from .mapping import request_id

# What polling reads of a request, besides the fields activity rules watch.
POLLED_FIELDS = ("RequestId", "Status", "OtherSystemId", "IsClosed", "CancelReason")
# What the client reads of the envelope (status, errors and warnings).
ENVELOPE_FIELDS = ("Status", "Message", "ErrorMessages", "WarningMessages")

Decoder = Callable[[bytes], dict[str, Any]]


class Record(msgspec.Struct, gc=False):
    """A request as a poll reads it: only the fields asked for, each None when absent, read
    with ``get`` as a dict is. Built in C and left as it is: a poll reads hundreds of
    thousands, and a dict of each costs a tenth of the decoding again. Not tracked by the
    garbage collector: decoded JSON holds no cycles.

    Its attributes are numbered (``f0``, ``f1``…), each renamed to the field it reads, so a
    field of any name (``get``, ``A B``) is read, and never hides this class's own names.
    """

    _attributes: ClassVar[dict[str, str]] = {}  # each field read, by its attribute

    def get(self, name: str, default: Any = None) -> Any:
        """The field ``name``, or ``default`` when it is not one of those read."""
        attribute = self._attributes.get(name)
        return default if attribute is None else getattr(self, attribute)

    def as_dict(self) -> dict[str, Any]:
        """Every field read, by its name."""
        return {name: getattr(self, attribute) for name, attribute in self._attributes.items()}

    @classmethod
    def reader(cls, names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
        """A function giving a record's ``names`` as a tuple, in that order (None for a name
        not read): in C when every name is read, since it runs once per polled request."""
        if len(names) > 1 and all(name in cls._attributes for name in names):
            return operator.attrgetter(*(cls._attributes[name] for name in names))
        return lambda record: tuple(record.get(name) for name in names)


# A request record as a poll has it: a Record (the fast reading) or a dict (the general one).
RecordRead = dict[str, Any] | Record


@functools.lru_cache(maxsize=16)  # one per set of watched fields, built once
def decoder(watched: tuple[str, ...] = ()) -> Decoder:
    """A function reading a ``ByIds`` answer into the envelope dict the client returns, each
    record a :class:`Record` of the polled and ``watched`` fields (absent ones as None).

    :raises ValueError: when the answer is not JSON, or not shaped as a ``ByIds`` answer.
    """
    attributes = {name: f"f{i}" for i, name in enumerate(dict.fromkeys((*POLLED_FIELDS, *watched)))}
    record = msgspec.defstruct(
        "RequestRecord",
        [(attribute, Any, None) for attribute in attributes.values()],
        bases=(Record,),
        rename={attribute: name for name, attribute in attributes.items()},
        namespace={"_attributes": attributes},
        forbid_unknown_fields=False,
    )
    envelope = msgspec.defstruct(
        "ByIdsEnvelope",
        [
            *((name, Any, msgspec.UNSET) for name in ENVELOPE_FIELDS),
            ("Value", list[record] | None, msgspec.UNSET),  # type: ignore[valid-type]
        ],
    )
    read = msgspec.json.Decoder(envelope).decode

    def decode(content: bytes) -> dict[str, Any]:
        answer: Any = read(content)
        body = {
            name: value
            for name in ENVELOPE_FIELDS
            if (value := getattr(answer, name)) is not msgspec.UNSET
        }
        if answer.Value is not msgspec.UNSET:
            body["Value"] = answer.Value
        return body

    return decode


def requests_of(
    got: Salvaged, wanted: Collection[int]
) -> tuple[dict[int, list[RecordRead]], dict[int, str], str | None]:
    """A ``ByIds`` answer's records by ``RequestId`` (only the ``wanted`` ones), the wanted
    requests whose record came damaged (with why), and why records may be missing from it
    altogether (it was cut off, or a damaged record names no request), or None."""
    broken = got.broken()
    found: dict[int, list[RecordRead]] = {}
    damaged: dict[int, str] = {}
    unnamed: list[str] = []
    for index, record in enumerate(got.value if isinstance(got.value, list) else []):
        rid = request_id(record.get("RequestId")) if isinstance(record, dict | Record) else None
        why = broken.get(index)
        if rid is None or rid not in wanted:  # a stray record is ignored, a damaged one noted
            if why:
                unnamed.append(why)
        elif why:
            damaged.setdefault(rid, why)
        else:
            found.setdefault(rid, []).append(record)
    return found, damaged, got.cut() or next(iter(unnamed), None)


def comments_of(
    got: Salvaged, sids: Iterable[int]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """A ``Comment/ByActivitySids`` answer's comment records by request (as text), the
    readable ones only, and the requests some of whose comments could not be read (with why:
    a damaged record, or an answer cut off before the request's list)."""
    value = got.value if isinstance(got.value, dict) else {}
    broken = got.broken()
    cut = got.cut()
    comments: dict[str, list[dict[str, Any]]] = {}
    problems: dict[str, str] = {}
    for sid in sids:
        key = str(sid)
        items = value.get(key)
        if key not in value:
            if cut:
                problems[key] = cut
            continue
        if key in broken:
            problems[key] = broken[key]
            bad = got.at(key).broken()
            if isinstance(items, list):
                items = [c for i, c in enumerate(items) if i not in bad]
        if isinstance(items, list):
            comments[key] = items  # the mapping leaves out what is not a comment record
    return comments, problems
