"""The passenger and contact rules of a booking, without a database.

The same cases go through a hold and its preview against PostgreSQL in
``tests/integration/test_booking_rules.py`` (refused before anything is written) and
``tests/integration/test_bookings.py`` (held as given).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from booking.domain.passengers import validate_contact, validate_passengers
from booking.errors import InvalidContact, InvalidPassengers
from tests.conftest import TEST_TODAY
from tests.support.bookings import INVALID_CONTACTS, INVALID_PASSENGERS, VALID_PASSENGERS, named


class TestValidatePassengers:
    @pytest.mark.parametrize(
        "passengers", list(INVALID_PASSENGERS.values()), ids=list(INVALID_PASSENGERS)
    )
    def test_invalid_passengers(self, passengers: list[dict[str, Any]]) -> None:
        with pytest.raises(InvalidPassengers) as caught:
            validate_passengers(passengers, TEST_TODAY)
        assert caught.value.code == "invalid_passengers"

    def test_the_offending_passenger_is_named(self) -> None:
        with pytest.raises(InvalidPassengers) as caught:
            validate_passengers(named("Nguyễn Văn An", "Lê Thị Hồng", "nguyen van an"), TEST_TODAY)
        assert caught.value.details == {"passenger": 3}

    @pytest.mark.parametrize(
        "passengers", list(VALID_PASSENGERS.values()), ids=list(VALID_PASSENGERS)
    )
    def test_valid_passengers(self, passengers: list[dict[str, Any]]) -> None:
        people = validate_passengers(passengers, TEST_TODAY)
        assert [p.full_name for p in people] == [p["full_name"] for p in passengers]

    def test_a_decomposed_name_is_the_same_person(self) -> None:
        decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
        with pytest.raises(InvalidPassengers) as caught:
            validate_passengers(named("Nguyễn Văn An", decomposed), TEST_TODAY)
        assert caught.value.details == {"passenger": 2}

    def test_a_name_in_decomposed_unicode_is_accepted(self) -> None:
        decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
        (person,) = validate_passengers(named(decomposed), TEST_TODAY)
        assert unicodedata.normalize("NFC", person.full_name) == "Nguyễn Văn An"


class TestValidateContact:
    @pytest.mark.parametrize(
        ("contact", "field"), list(INVALID_CONTACTS.values()), ids=list(INVALID_CONTACTS)
    )
    def test_invalid_contact(self, contact: dict[str, Any] | None, field: str | None) -> None:
        with pytest.raises(InvalidContact) as caught:
            validate_contact(contact)
        assert caught.value.code == "invalid_contact"
        assert caught.value.details.get("field") == field

    def test_phone_alone_or_email_alone_is_enough(self) -> None:
        by_phone = validate_contact({"phone": "(+84) 912.345.678"})
        assert by_phone.to_dict() == {"email": None, "phone": "+84912345678"}
        by_mail = validate_contact({"email": " a.b@c.com.vn "})
        assert by_mail.to_dict() == {"email": "a.b@c.com.vn", "phone": None}
