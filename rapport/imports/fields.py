"""What an import's columns can fill (a contact's writable fields and its custom properties),
the mapping suggested from a header, and a row turned into the record a batch write takes:
CSV holds text, so a property's value is read as its type asks (a number, a yes/no, a list
of options separated by `;`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapport.contacts.schemas import ContactCreate
from rapport.imports.csvfile import folded_name
from rapport.kit.context import Context
from rapport.kit.errors import ErrorDetail, ValidationFailed, field_error
from rapport.models.consent import ConsentStatus
from rapport.models.properties import PropertyEntity, PropertyType
from rapport.properties.service import PropertyService

PROPERTY_PREFIX = "properties."
EMAIL_STATUS = "emailStatus"
_IDENTIFYING = ("email", "phone", "externalId", "name", "givenName", "familyName")
# Header spellings that name a field other than by its key or label.
_SYNONYMS = {
    "emailaddress": "email",
    "mail": "email",
    "firstname": "givenName",
    "forename": "givenName",
    "lastname": "familyName",
    "surname": "familyName",
    "fullname": "name",
    "contactname": "name",
    "mobile": "phone",
    "mobilephone": "phone",
    "phonenumber": "phone",
    "telephone": "phone",
    "tel": "phone",
    "stage": "lifecycleStage",
    "lifecycle": "lifecycleStage",
    "owner": "ownerUserId",
    "emailconsent": EMAIL_STATUS,
    "consent": EMAIL_STATUS,
    "subscribed": EMAIL_STATUS,
    "optin": EMAIL_STATUS,
    "newsletter": EMAIL_STATUS,
}
# What an email status column may say, beside the statuses themselves.
_CONSENT_WORDS = {
    "yes": ConsentStatus.SUBSCRIBED,
    "true": ConsentStatus.SUBSCRIBED,
    "y": ConsentStatus.SUBSCRIBED,
    "1": ConsentStatus.SUBSCRIBED,
    "opt-in": ConsentStatus.SUBSCRIBED,
    "no": ConsentStatus.UNSUBSCRIBED,
    "false": ConsentStatus.UNSUBSCRIBED,
    "n": ConsentStatus.UNSUBSCRIBED,
    "0": ConsentStatus.UNSUBSCRIBED,
    "opt-out": ConsentStatus.UNSUBSCRIBED,
}
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Target:
    """A field a column can fill: `name` as the API spells it (`email`,
    `properties.plan`)."""

    name: str
    label: str
    type: PropertyType
    required: bool = False


async def contact_targets(context: Context) -> dict[str, Target]:
    """The contact's writable fields, then its custom properties that are not archived."""
    writable = {info.alias or name for name, info in ContactCreate.model_fields.items()}
    listed = await PropertyService(context).listed(PropertyEntity.CONTACT, None, None, False)
    targets: dict[str, Target] = {}
    for field in listed:
        if field.is_system and field.key in writable:
            targets[field.key] = Target(field.key, field.label, field.type)
        elif not field.is_system:
            name = PROPERTY_PREFIX + field.key
            targets[name] = Target(name, field.label, field.type, field.is_required)
    targets[EMAIL_STATUS] = Target(EMAIL_STATUS, "Email consent", PropertyType.SELECT)
    return targets


def consent_of(text: str) -> ConsentStatus:
    """An email status column's cell: a status (subscribed, unsubscribed, bounced,
    complained) or yes/no; ValueError for anything else (pending is set by a confirmation
    email, not by a file)."""
    word = text.strip().lower()
    if word in _CONSENT_WORDS:
        return _CONSENT_WORDS[word]
    try:
        status = ConsentStatus(word)
    except ValueError:
        status = ConsentStatus.PENDING
    if status == ConsentStatus.PENDING:
        raise ValueError(
            f"{text!r} is no email status: subscribed, unsubscribed, bounced, complained, or yes/no"
        )
    return status


def suggested(header: list[str], targets: Mapping[str, Target]) -> dict[str, str]:
    """For each column whose name looks like a field's key or label, that field (each field
    once, to the first column that names it)."""
    by_name: dict[str, str] = {}
    for target in targets.values():
        key = target.name.removeprefix(PROPERTY_PREFIX)
        for spelling in (key, target.label):
            by_name.setdefault(folded_name(spelling), target.name)
    for spelling, synonym in _SYNONYMS.items():
        if synonym in targets:
            by_name.setdefault(spelling, synonym)
    mapping: dict[str, str] = {}
    for column in header:
        field = by_name.get(folded_name(column))
        if field is not None and field not in mapping.values():
            mapping[column] = field
    return mapping


def checked_mapping(
    mapping: Mapping[str, str], header: list[str], targets: Mapping[str, Target]
) -> dict[str, str]:
    """The mapping, once every column is in the header, every field exists and is filled by
    one column, some column identifies the contact, and every required property is filled
    (422 naming `mapping.<column>` or `mapping`)."""
    problems: list[ErrorDetail] = []
    filled: dict[str, str] = {}
    for column, name in mapping.items():
        where = f"mapping.{column}"
        if column not in header:
            problems.append(ErrorDetail(field=where, message="No such column in the header"))
        elif name not in targets:
            problems.append(ErrorDetail(field=where, message=f"No such field: {name!r}"))
        elif name in filled:
            problems.append(
                ErrorDetail(field=where, message=f"{name} is filled by {filled[name]!r} already")
            )
        else:
            filled[name] = column
    if not problems and not any(name in filled for name in _IDENTIFYING):
        raise field_error("mapping", f"Map a column to at least one of {', '.join(_IDENTIFYING)}")
    for target in targets.values():
        if target.required and target.name not in filled:
            problems.append(
                ErrorDetail(field="mapping", message=f"{target.name} is required: map a column")
            )
    if problems:
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
        raise ValidationFailed(summary, details=problems)
    return dict(mapping)


def record_of(
    fields: Mapping[str, str], mapping: Mapping[str, str], targets: Mapping[str, Target]
) -> dict[str, Any]:
    """The record a row describes: each mapped column's text, read as its field's type (an
    empty cell is left out, so an update keeps what it would otherwise clear)."""
    record: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for column, name in mapping.items():
        text = fields[column].strip()
        if not text:
            continue
        if name.startswith(PROPERTY_PREFIX):
            properties[name.removeprefix(PROPERTY_PREFIX)] = _typed(text, targets[name].type)
        else:
            record[name] = text
    if properties:
        record["properties"] = properties
    return record


def _typed(text: str, kind: PropertyType) -> Any:
    """The value a property of this type takes from this text; text the type cannot read is
    passed on as it is, for the property's rules to refuse with their reason."""
    if kind in (PropertyType.NUMBER, PropertyType.CURRENCY):
        if _INTEGER.fullmatch(text):
            return int(text)
        if _DECIMAL.fullmatch(text):
            return float(text)
    elif kind == PropertyType.BOOLEAN:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
    elif kind == PropertyType.MULTI_SELECT:
        return [item.strip() for item in text.split(";") if item.strip()]
    return text
