"""The booking rules that need the seeded PostgreSQL (the cut-off before departure, flights and
cabins that exist, seats left), the preview a traveller approves, and idempotency keys and tenants.

The pure rules (passengers, contacts, cabin names) are unit tests: ``tests/unit/test_passengers.py``
and ``tests/unit/test_booking_rules.py``. Each operation runs in its own ``session.begin()`` of the
rolled-back ``session``; "now" is always passed explicitly (``TEST_NOW``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain import bookings
from booking.domain.approval_text import approval_summary
from booking.errors import (
    BookingClosed,
    BookingNotFound,
    FlightNotFound,
    IdempotencyKeyReused,
    InvalidContact,
    InvalidPassengers,
    SoldOut,
    UnknownCabin,
)
from booking.i18n.format import money
from tests.conftest import TEST_NOW
from tests.support.bookings import (
    ACTOR,
    CONTACT,
    INVALID_CONTACTS,
    INVALID_PASSENGERS,
    OTHER_TENANT,
    PASSENGERS,
    POLICY,
    TENANT,
    FareRow,
    audit_trail,
    cancel,
    confirm,
    execute,
    fare_row,
    find_fare,
    get_booking,
    hold,
    roomy_fare,
    scalar,
    seats_sold,
    table_counts,
)


@pytest.fixture
async def fare(session: AsyncSession) -> FareRow:
    """An economy fare three to five days out with plenty of seats, on a flight with business."""
    return await roomy_fare(session)


# Rules -----------------------------------------------------------------------------------


class TestRules:
    async def test_within_the_cutoff_is_closed(self, session: AsyncSession) -> None:
        soon = await find_fare(
            session,
            "x.cabin = 'economy' AND x.seats_available >= 3"
            " AND f.departs_at > :now AND f.departs_at < :now + interval '2 hours'",
        )
        with pytest.raises(BookingClosed) as caught:
            await hold(session, soon.flight_id)
        assert caught.value.code == "booking_closed"
        assert await fare_row(session, soon.flight_id) == soon

    async def test_departed_flight_is_closed(self, session: AsyncSession) -> None:
        gone = await find_fare(
            session, "x.cabin = 'economy' AND x.seats_available >= 3 AND f.departs_at < :now"
        )
        with pytest.raises(BookingClosed):
            await hold(session, gone.flight_id)
        assert await fare_row(session, gone.flight_id) == gone

    async def test_cutoff_boundary(self, session: AsyncSession, fare: FareRow) -> None:
        closes = fare.departs_at - POLICY.cutoff
        with pytest.raises(BookingClosed):
            await hold(session, fare.flight_id, key="at", now=closes)
        booking = await hold(
            session, fare.flight_id, key="before", now=closes - timedelta(seconds=1)
        )
        assert booking["status"] == "held"

    async def test_unknown_flight(self, session: AsyncSession) -> None:
        missing = await scalar(session, "SELECT max(id) + 1000 FROM flights")
        with pytest.raises(FlightNotFound) as caught:
            await hold(session, missing)
        assert caught.value.details == {"flight_id": missing}
        with pytest.raises(FlightNotFound):
            await hold(session, missing, cabin="business")

    async def test_business_on_a_flight_without_one(self, session: AsyncSession) -> None:
        economy_only = await find_fare(
            session,
            "x.cabin = 'economy' AND f.departs_at > :now + interval '3 days'"
            " AND NOT EXISTS (SELECT 1 FROM fares b WHERE b.flight_id = f.id AND b.cabin = 'business')",
        )
        with pytest.raises(UnknownCabin) as caught:
            await hold(session, economy_only.flight_id, cabin="business")
        assert caught.value.details == {"flight_id": economy_only.flight_id, "cabin": "business"}

    async def test_not_enough_seats(self, session: AsyncSession, fare: FareRow) -> None:
        await execute(
            session,
            "UPDATE fares SET seats_available = 2 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        with pytest.raises(SoldOut) as caught:
            await hold(session, fare.flight_id)  # three passengers
        assert caught.value.code == "sold_out"
        assert caught.value.details["seats_left"] == 2
        assert "Only 2" in caught.value.message

        # Two fit; then the cabin is sold out.
        await hold(session, fare.flight_id, PASSENGERS[:2], key="two")
        with pytest.raises(SoldOut) as sold_out:
            await hold(session, fare.flight_id, PASSENGERS[2:], key="one")
        assert sold_out.value.details["seats_left"] == 0
        after = await fare_row(session, fare.flight_id)
        assert (after.seats_available, after.seats_booked) == (0, 2)

    async def test_a_refused_hold_leaves_nothing_and_frees_its_key(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        await execute(
            session,
            "UPDATE fares SET seats_available = 1 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        before = await table_counts(session)
        with pytest.raises(SoldOut):
            await hold(session, fare.flight_id, PASSENGERS[:2], key="k")
        assert await table_counts(session) == before
        # The same key may be used again once seats are free: it was never spent.
        await execute(
            session,
            "UPDATE fares SET seats_available = 5 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        assert (await hold(session, fare.flight_id, PASSENGERS[:2], key="k"))["status"] == "held"


# Preview ---------------------------------------------------------------------------------


class TestPreview:
    async def test_preview_describes_the_hold_and_writes_nothing(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        before = await table_counts(session)
        async with session.begin():
            described = await bookings.preview_hold(
                session,
                flight_id=fare.flight_id,
                cabin="economy",
                passengers=PASSENGERS,
                contact=CONTACT,
                now=TEST_NOW,
                policy=POLICY,
            )
        # What the approval card and the model read.
        preview = described.to_dict()
        assert await table_counts(session) == before
        assert await fare_row(session, fare.flight_id) == fare

        flight = preview["flight"]
        assert flight["flight_id"] == fare.flight_id
        assert datetime.fromisoformat(flight["departs_at"]) == fare.departs_at
        assert datetime.fromisoformat(flight["arrives_at"]) > fare.departs_at
        assert flight["seats_left"] == fare.seats_available
        assert preview["action"] == "hold"
        assert preview["cabin"] == "economy"
        assert [p["full_name"] for p in preview["passengers"]] == [
            "Trần Thị Lan",
            "Nguyễn Văn An",
            "Lê Minh Đức",
        ]
        assert preview["passengers"][0]["date_of_birth"] == "1990-04-12"
        assert preview["price_per_passenger_vnd"] == fare.price_vnd
        assert preview["total_vnd"] == 3 * fare.price_vnd
        assert preview["contact"] == {"email": "lan.tran@example.vn", "phone": "+84912345678"}
        assert preview["hold_minutes"] == 15
        worded = approval_summary(preview, "en")
        assert money(3 * fare.price_vnd, "en") in worded  # one formatter per language
        assert f"₫{3 * fare.price_vnd:,}" in worded
        assert flight["flight_number"] in worded
        vietnamese = approval_summary(preview, "vi")
        assert f"{3 * fare.price_vnd:,}".replace(",", ".") + "\u00a0₫" in vietnamese
        assert "hành khách" in vietnamese

        # The hold it describes has the same price, flight and times.
        booking = await hold(session, fare.flight_id)
        assert booking["total_vnd"] == preview["total_vnd"]
        assert {k: flight[k] for k in booking["flight"]} == booking["flight"]

    async def test_preview_applies_the_same_rules(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        async def preview(**overrides: Any) -> dict[str, Any]:
            args: dict[str, Any] = {
                "flight_id": fare.flight_id,
                "cabin": "economy",
                "passengers": PASSENGERS,
                "contact": CONTACT,
                "now": TEST_NOW,
                "policy": POLICY,
            }
            args.update(overrides)
            async with session.begin():
                described = await bookings.preview_hold(session, **args)
            return described.to_dict()

        # Every case of the passenger and contact rules (tests/unit/test_passengers.py) is
        # refused by the hold and its preview alike, before anything is written.
        before = await table_counts(session)
        for passengers in INVALID_PASSENGERS.values():
            with pytest.raises(InvalidPassengers) as refused:
                await hold(session, fare.flight_id, passengers)
            assert refused.value.code == "invalid_passengers"
            with pytest.raises(InvalidPassengers):
                await preview(passengers=passengers)
        for contact, _ in INVALID_CONTACTS.values():
            with pytest.raises(InvalidContact) as refused_contact:
                await hold(session, fare.flight_id, contact=contact)
            assert refused_contact.value.code == "invalid_contact"
            with pytest.raises(InvalidContact):
                await preview(contact=contact)
        # So is a cabin name the rules do not know (tests/unit/test_booking_rules.py).
        with pytest.raises(UnknownCabin):
            await hold(session, fare.flight_id, cabin="first")
        with pytest.raises(UnknownCabin):
            await preview(cabin="first")
        assert await table_counts(session) == before
        assert await fare_row(session, fare.flight_id) == fare

        with pytest.raises(InvalidContact):
            await preview(contact=None)
        with pytest.raises(BookingClosed):
            await preview(now=fare.departs_at - timedelta(hours=1))
        missing = await scalar(session, "SELECT max(id) + 1000 FROM flights")
        with pytest.raises(FlightNotFound):
            await preview(flight_id=missing)
        await execute(
            session,
            "UPDATE fares SET seats_available = 2 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        with pytest.raises(SoldOut) as caught:
            await preview()
        assert caught.value.details["seats_left"] == 2


# Idempotency and tenants -----------------------------------------------------------------


class TestIdempotency:
    async def test_same_key_same_request_returns_the_same_booking(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        first = await hold(session, fare.flight_id, key="same")
        # A retry a minute later, the e-mail written differently and the names spaced
        # differently: the same request once validated.
        retry_passengers = [{**p, "full_name": f" {p['full_name']} "} for p in PASSENGERS]
        retry_contact = {**CONTACT, "email": CONTACT["email"].upper()}
        again = await hold(
            session,
            fare.flight_id,
            retry_passengers,
            key="same",
            contact=retry_contact,
            now=TEST_NOW + timedelta(minutes=1),
        )
        assert again == first
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 3
        assert (
            await scalar(
                session,
                "SELECT count(*) FROM bookings WHERE flight_id = :id AND tenant = :t",
                id=fare.flight_id,
                t=TENANT,
            )
            == 1
        )

    @pytest.mark.parametrize(
        "change",
        [
            {"passengers": PASSENGERS[:2]},
            {"cabin": "business"},
            {"contact": {"email": "someone.else@example.vn"}},
            {"flight": "other"},
        ],
    )
    async def test_same_key_different_request_is_refused(
        self, session: AsyncSession, fare: FareRow, change: dict[str, Any]
    ) -> None:
        await hold(session, fare.flight_id, key="reused")
        change = dict(change)
        flight_id = fare.flight_id
        if change.pop("flight", None):
            flight_id = (
                await find_fare(
                    session,
                    "x.cabin = 'economy' AND x.seats_available >= 9 AND x.flight_id <> :id"
                    " AND f.departs_at > :now + interval '3 days'",
                    id=fare.flight_id,
                )
            ).flight_id
        with pytest.raises(IdempotencyKeyReused) as caught:
            await hold(session, flight_id, key="reused", **change)
        assert caught.value.code == "idempotency_key_reused"
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 3

    async def test_keys_are_per_tenant(self, session: AsyncSession, fare: FareRow) -> None:
        mine = await hold(session, fare.flight_id, key="shared-key")
        theirs = await hold(session, fare.flight_id, key="shared-key", tenant=OTHER_TENANT)
        assert mine["reference"] != theirs["reference"]
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 6

    async def test_tenant_isolation(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        reference = held["reference"]
        with pytest.raises(BookingNotFound):
            await get_booking(session, reference, tenant=OTHER_TENANT)
        with pytest.raises(BookingNotFound):
            await confirm(session, reference, tenant=OTHER_TENANT)
        with pytest.raises(BookingNotFound):
            await cancel(session, reference, tenant=OTHER_TENANT)
        # Nothing changed for the owner.
        assert await get_booking(session, reference) == held
        assert await audit_trail(session, reference) == [(None, "held", ACTOR)]
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 3

    async def test_unknown_reference(self, session: AsyncSession) -> None:
        with pytest.raises(BookingNotFound):
            await get_booking(session, "AAAAAA")
