"""What the emulated agency has configured: record types with their custom forms (ASI), the
record statuses with their status types, and document categories.

Shaped as the Construct API answers them: a record type's ``id`` is its four-level key with
Accela's escapes (a space is ``.c``), custom-form ids are ``<ASI group>-<subgroup>``, fields
are named by their ``id``, flags are ``"Y"``/``"N"``.
"""

from __future__ import annotations

from typing import Any

# The escapes Accela applies to each level of a record type's key to make its ``id``.
ESCAPES = {
    ".": ".0",
    "-": ".1",
    "%": ".2",
    "/": ".3",
    "\\": ".7",
    ":": ".5",
    "*": ".6",
    "<": ".8",
    ">": ".9",
    "|": ".a",
    "?": ".b",
    " ": ".c",
    "&": ".d",
    "#": ".e",
}


def type_id(value: str) -> str:
    """A record type's ``id`` from its slash form (``ServiceRequest/Trees and Parks/…``)."""
    return "-".join("".join(ESCAPES.get(c, c) for c in level) for level in value.split("/"))


def record_type(value: str, text: str, **flags: Any) -> dict[str, Any]:
    """A ``recordTypeModel``; ``flags`` override ``createable``, ``asChildOnly``…"""
    module, group, kind, sub, category = (value.split("/")[0], *value.split("/"))
    item = {
        "id": type_id(value),
        "value": value,
        "text": text,
        "alias": text,
        "module": module,
        "group": group,
        "type": kind,
        "subType": sub,
        "category": category,
        "filterName": "311",
        "createable": True,
        "deletable": False,
        "readable": True,
        "searchable": True,
        "updatable": True,
        "asChildOnly": "N",
    }
    item.update(flags)
    return item


def field(
    order: int,
    name: str,
    kind: str,
    *,
    required: bool = False,
    readonly: bool = False,
    options: tuple[str, ...] = (),
    length: int = 0,
) -> dict[str, Any]:
    """A ``customFormField``."""
    return {
        "id": name,
        "text": name,
        "value": None,
        "fieldType": kind,
        "isRequired": "Y" if required else "N",
        "isReadonly": "Y" if readonly else "N",
        "maxLength": length,
        "displayOrder": order,
        "options": [{"value": o, "text": o} for o in options],
        "drillDown": None,
    }


GRAFFITI = "ServiceRequest/Graffiti/Graffiti/NA"
POTHOLE = "ServiceRequest/Streets and Sidewalks/Pothole/NA"
TREE = "ServiceRequest/Trees/Fallen Tree/NA"

TYPES: list[dict[str, Any]] = [
    record_type(GRAFFITI, "Graffiti"),
    record_type(POTHOLE, "Pothole"),
    record_type(TREE, "Fallen Tree"),
    # Not for residents: made only under a parent record, or not createable through the API.
    record_type(
        "ServiceRequest/Internal/Inspection Follow-up/NA", "Inspection Follow-up", asChildOnly="Y"
    ),
    record_type("ServiceRequest/Internal/Staff Only/NA", "Staff Only", createable=False),
    # Another module: a permit, which an integration for service requests never offers.
    record_type("Building/Commercial/Addition/NA", "Commercial Addition", filterName=""),
]

# Custom forms by record type value; displayOrder deliberately not the list order.
FORMS: dict[str, list[dict[str, Any]]] = {
    GRAFFITI: [
        {
            "id": "SR_GRAF-CONTACT",
            "text": "CONTACT",
            "displayOrder": 20,
            "fields": [
                field(1, "Email for follow-up", "Text", length=80),
            ],
        },
        {
            "id": "SR_GRAF-DETAILS",
            "text": "DETAILS",
            "displayOrder": 10,
            "fields": [
                field(3, "Date Noticed", "Date"),
                field(
                    1,
                    "Surface",
                    "DropdownList",
                    required=True,
                    options=("Wall", "Fence", "Utility Box", "Sign"),
                ),
                field(2, "Offensive", "Radio"),
                field(4, "Size (sq ft)", "Number"),
            ],
        },
    ],
    POTHOLE: [
        {
            "id": "SR_POT-GENERAL",
            "text": "GENERAL",
            "displayOrder": 1,
            "fields": [
                field(1, "Depth (inches)", "Number", required=True),
                field(
                    2,
                    "Lane",
                    "DropdownList",
                    required=True,
                    options=("Travel lane", "Bike lane", "Shoulder"),
                ),
                field(3, "Blocking Traffic", "CheckBox"),
                field(4, "Time Noticed", "Time"),
                field(5, "Details", "TextArea", length=4000),
                field(6, "Crew Notes", "Text", readonly=True),
                field(7, "Surface Type", "Signature"),  # a type no table names: free text
            ],
        },
    ],
}

# Status values and the status type each belongs to (agency configuration).
STATUSES: dict[str, str] = {
    "Submitted": "OPEN",
    "Received": "OPEN",
    "In Progress": "PENDING",
    "Closed": "CLOSED",
    "Complete": "COMPLETE",
    "Void": "VOID",
    "Duplicate": "VOID",
    "Withdrawn": "VOID",
}
OPENING_STATUS = "Submitted"

DOCUMENT_CATEGORIES = [
    {"id": 1, "value": "Photo", "text": "Photo", "groups": [{"value": "SR", "text": "SR"}]},
]


def forms_of(value: str) -> list[dict[str, Any]]:
    """The custom forms of a record type (none for a type without ASI)."""
    return FORMS.get(value, [])


def status_type(value: str) -> str | None:
    """The status type of a status value (any case), or None for a value the agency does not
    configure."""
    for known, kind in STATUSES.items():
        if known.lower() == value.strip().lower():
            return kind
    return None
