"""Who a booking is for and who booked it: the passenger and contact rules. Pure, no I/O.

1-9 passengers with plausible full names (as written on an ID), an optional plausible date of
birth, no passenger twice; a phone number or an e-mail address for the booker. Values arrive as
typed by a traveller or a client (JSON objects) or as :class:`Passenger` / :class:`Contact`, and
leave as those types, normalized.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeAlias

from booking.domain.types import MAX_PASSENGERS, Contact, Passenger
from booking.errors import InvalidContact, InvalidPassengers

#: A passenger or a contact as a client sends it (a JSON object), or already typed.
PassengerInput: TypeAlias = Mapping[str, Any] | Passenger
ContactInput: TypeAlias = Mapping[str, Any] | Contact

_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")


def validate_passengers(raw: Sequence[PassengerInput], today: date) -> list[Passenger]:
    """Names as on the ID (two words at least, letters only), optional date of birth, no one twice."""
    if not 1 <= len(raw) <= MAX_PASSENGERS:
        raise InvalidPassengers(
            f"A booking has 1 to {MAX_PASSENGERS} passengers, not {len(raw)}.", count=len(raw)
        )
    out: list[Passenger] = []
    seen: set[tuple[str, date | None]] = set()
    for index, item in enumerate(raw, start=1):
        name_value = item.full_name if isinstance(item, Passenger) else item.get("full_name")
        dob_value = item.date_of_birth if isinstance(item, Passenger) else item.get("date_of_birth")
        # NFC: some keyboards type "ễ" as "e" + two combining marks, which are not letters.
        name = unicodedata.normalize("NFC", " ".join(str(name_value or "").split()))
        if not name:
            raise InvalidPassengers(f"Passenger {index} has no name.", passenger=index)
        if len(name) > 80 or len(name.split()) < 2 or not _NAME.match(name):
            raise InvalidPassengers(
                f"Passenger {index}: '{name}' does not look like a full name as written on an ID "
                "(family and given names, letters only).",
                passenger=index,
            )
        dob = _date_of_birth(dob_value, index, today)
        key = (_fold(name), dob)
        if key in seen:
            raise InvalidPassengers(
                f"Passenger {index}: {name} is already on this booking.", passenger=index
            )
        seen.add(key)
        out.append(Passenger(name, dob))
    return out


def validate_contact(raw: ContactInput | None) -> Contact:
    """The booker's e-mail (lower-cased) and phone (separators dropped); one of them at least."""
    if raw is None:
        raw = {}
    email_value = raw.email if isinstance(raw, Contact) else raw.get("email")
    phone_value = raw.phone if isinstance(raw, Contact) else raw.get("phone")
    email = str(email_value).strip() if email_value else None
    phone = re.sub(r"[\s.\-()]", "", str(phone_value)) if phone_value else None
    if email and not _EMAIL.match(email):
        raise InvalidContact(f"'{email}' is not an e-mail address.", field="email")
    if phone and not _PHONE.match(phone):
        raise InvalidContact(f"'{phone_value}' is not a phone number.", field="phone")
    if not email and not phone:
        raise InvalidContact("A phone number or an e-mail address of the booker is needed.")
    return Contact(email.lower() if email else None, phone)


def _date_of_birth(value: Any, index: int, today: date) -> date | None:
    if value in (None, ""):
        return None
    try:
        dob = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise InvalidPassengers(
            f"Passenger {index}: date of birth '{value}' is not a date (YYYY-MM-DD).",
            passenger=index,
        ) from None
    if dob > today or dob.year < today.year - 120:
        raise InvalidPassengers(
            f"Passenger {index}: date of birth {dob} is not plausible.", passenger=index
        )
    return dob


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
