"""The bookings REST API over real HTTP: hold (with its Idempotency-Key), read, confirm, cancel,
tenant isolation, and the booking rules' stable error codes.

Every test books on flights at least ten days after TEST_NOW found through the search endpoint,
and only compares seat counts of its own flight before and after its own requests."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import httpx2
import pytest

from tests.conftest import TEST_NOW
from tests.support.api import MakeKey, Server, assert_problem, post_once
from tests.support.booking_requests import (
    BOOKINGS,
    hold,
    hold_body,
    idem,
    roomy_flight,
    search,
    seats_left,
)

REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
GIVEN_NAMES = ["An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Khánh", "Linh", "Minh", "Nam"]


class TestHold:
    def test_hold_needs_an_idempotency_key(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-11")
            before = seats_left(client, flight)
            body = hold_body(flight["flight_id"], "Nguyễn Văn An")
            missing = client.post(BOOKINGS, json=body)
            empty = client.post(BOOKINGS, json=body, headers={"idempotency-key": ""})
            after = seats_left(client, flight)
        assert_problem(missing, 428, "idempotency_key_required")
        assert_problem(empty, 428, "idempotency_key_required")
        assert after == before

    def test_hold_returns_the_held_booking(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-12")
            before = seats_left(client, flight)
            body = hold_body(
                flight["flight_id"],
                "Nguyễn Văn An",
                "Trần Thị Bình",
                "Lê Hoàng Cường",
                contact={"email": "An.Nguyen@Example.VN", "phone": "0901 234 567"},
            )
            body["passengers"][1]["date_of_birth"] = "1990-04-12"
            response = client.post(BOOKINGS, json=body, headers=idem())
            after = seats_left(client, flight)

        assert response.status_code == 201, response.text
        booking = response.json()
        reference = booking["reference"]
        assert len(reference) == 6
        assert set(reference) <= set(REFERENCE_ALPHABET)
        assert booking["status"] == "held"
        assert booking["cabin"] == "economy"
        assert booking["flight"]["flight_id"] == flight["flight_id"]
        assert booking["flight"]["flight_number"] == flight["flight_number"]
        assert booking["flight"]["origin"] == "SGN"
        assert booking["flight"]["destination"] == "HAN"
        assert booking["flight"]["departs_at"] == flight["departs_at"]
        assert booking["passengers"] == [
            {"full_name": "Nguyễn Văn An", "date_of_birth": None},
            {"full_name": "Trần Thị Bình", "date_of_birth": "1990-04-12"},
            {"full_name": "Lê Hoàng Cường", "date_of_birth": None},
        ]
        assert booking["contact"] == {"email": "an.nguyen@example.vn", "phone": "0901234567"}
        assert booking["price_per_passenger_vnd"] == flight["price_vnd"]
        assert booking["total_vnd"] == flight["price_vnd"] * 3
        assert booking["currency"] == "VND"
        # Held for 15 minutes from the (fixed) "now".
        expires = datetime.fromisoformat(booking["hold_expires_at"])
        assert expires == TEST_NOW + timedelta(minutes=15)
        assert datetime.fromisoformat(booking["created_at"]) == TEST_NOW
        assert booking["confirmed_at"] is None
        assert booking["cancelled_at"] is None
        assert after == before - 3

    def test_the_same_key_returns_the_same_booking_and_takes_seats_once(
        self, server: Server, key: str
    ) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-13")
            before = seats_left(client, flight)
            body = hold_body(flight["flight_id"], "Phạm Minh Đức", "Phạm Thu Hà")
            headers = idem()
            first = hold(client, body, headers)
            assert seats_left(client, flight) == before - 2
            again = client.post(BOOKINGS, json=body, headers=headers)
            assert again.status_code == 201, again.text
            assert again.json()["reference"] == first["reference"]
            assert again.json() == first
            assert seats_left(client, flight) == before - 2

            # The same key for another request is refused, and changes nothing.
            other = hold_body(flight["flight_id"], "Phạm Minh Đức")
            reused = client.post(BOOKINGS, json=other, headers=headers)
            assert_problem(reused, 422, "idempotency_key_reused")
            other_flight = hold_body(flight["flight_id"] + 1, "Phạm Minh Đức", "Phạm Thu Hà")
            assert_problem(
                client.post(BOOKINGS, json=other_flight, headers=headers),
                422,
                "idempotency_key_reused",
            )
            assert seats_left(client, flight) == before - 2
            assert client.get(f"{BOOKINGS}/{first['reference']}").json() == first

            # A new key is a new booking.
            second = hold(client, body)
            assert second["reference"] != first["reference"]
            assert seats_left(client, flight) == before - 4

    def test_racing_requests_with_one_key_book_once(self, server: Server, key: str) -> None:
        with server.client(key) as probe:
            flight = roomy_flight(probe, "2026-06-14")
            before = seats_left(probe, flight)
        body = hold_body(flight["flight_id"], "Võ Thị Sáu", "Võ Văn Kiệt")
        headers = idem()
        responses: list[httpx2.Response] = []
        barrier = threading.Barrier(4)

        def post() -> None:
            with server.client(key) as client:
                barrier.wait(5)
                responses.append(client.post(BOOKINGS, json=body, headers=headers))

        threads = [threading.Thread(target=post) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert len(responses) == 4
        assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
        assert len({r.json()["reference"] for r in responses}) == 1
        with server.client(key) as probe:
            assert seats_left(probe, flight) == before - 2

    def test_keys_belong_to_their_tenant(self, server: Server, key: str, make_key: MakeKey) -> None:
        headers = idem()
        with server.client(key) as a, server.client(make_key()) as b:
            flight = roomy_flight(a, "2026-06-16")
            body = hold_body(flight["flight_id"], "Đặng Thùy Trâm")
            mine = hold(a, body, headers)
            theirs = hold(b, body, headers)
        assert theirs["reference"] != mine["reference"]

    def test_a_failed_hold_stores_nothing_under_its_key(self, server: Server, key: str) -> None:
        headers = idem()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-17")
            missing = client.post(BOOKINGS, json=hold_body(2**40, "Nguyễn Văn An"), headers=headers)
            assert_problem(missing, 404, "flight_not_found")
            # The retry (a corrected request) runs, as if the key were new.
            booking = hold(client, hold_body(flight["flight_id"], "Nguyễn Văn An"), headers)
        assert booking["status"] == "held"


class TestLifecycle:
    def test_get_confirm_cancel(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-18")
            before = seats_left(client, flight)
            held = hold(client, hold_body(flight["flight_id"], "Hồ Xuân Hương", "Hồ Văn Nam"))
            reference = held["reference"]
            assert seats_left(client, flight) == before - 2

            got = client.get(f"{BOOKINGS}/{reference}")
            assert got.status_code == 200, got.text
            assert got.json() == held
            # References are read case-insensitively.
            lower = client.get(f"{BOOKINGS}/{reference.lower()}")
            assert lower.status_code == 200
            assert lower.json()["reference"] == reference

            confirmed = client.post(f"{BOOKINGS}/{reference}/confirm")
            assert confirmed.status_code == 200, confirmed.text
            body = confirmed.json()
            assert body["status"] == "confirmed"
            assert body["reference"] == reference
            assert body["hold_expires_at"] is None
            assert datetime.fromisoformat(body["confirmed_at"]) == TEST_NOW
            assert body["total_vnd"] == held["total_vnd"]
            assert seats_left(client, flight) == before - 2

            again = client.post(f"{BOOKINGS}/{reference}/confirm")
            assert again.status_code == 200, again.text
            assert again.json()["status"] == "confirmed"
            assert again.json() == body
            assert client.get(f"{BOOKINGS}/{reference}").json() == body

            cancelled = client.post(f"{BOOKINGS}/{reference}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["status"] == "cancelled"
            assert datetime.fromisoformat(cancelled.json()["cancelled_at"]) == TEST_NOW
            assert seats_left(client, flight) == before

            twice = client.post(f"{BOOKINGS}/{reference}/cancel")
            assert twice.status_code == 200, twice.text
            assert twice.json()["status"] == "cancelled"
            assert seats_left(client, flight) == before  # not released twice
            assert client.get(f"{BOOKINGS}/{reference}").json() == twice.json()

    def test_a_cancelled_booking_cannot_be_confirmed(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-18")
            before = seats_left(client, flight)
            held = hold(client, hold_body(flight["flight_id"], "Hồ Quý Ly"))
            reference = held["reference"]
            assert client.post(f"{BOOKINGS}/{reference}/cancel").status_code == 200
            refused = post_once(server, key, f"{BOOKINGS}/{reference}/confirm")
            after = client.get(f"{BOOKINGS}/{reference}").json()
            assert seats_left(client, flight) == before
        problem = assert_problem(refused, 409, "booking_not_confirmable")
        assert problem["reference"] == reference
        assert after["status"] == "cancelled"

    def test_cancel_a_held_booking_releases_its_seats(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-19")
            before = seats_left(client, flight)
            names = ["Ngô Bảo Châu", "Ngô Thị Mai", "Ngô Văn Tú", "Ngô Gia Huy"]
            held = hold(client, hold_body(flight["flight_id"], *names))
            assert seats_left(client, flight) == before - 4
            cancelled = client.post(f"{BOOKINGS}/{held['reference']}/cancel", headers=idem())
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["status"] == "cancelled"
            assert seats_left(client, flight) == before

    def test_confirm_and_cancel_take_an_idempotency_key(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-20")
            held = hold(client, hold_body(flight["flight_id"], "Bùi Xuân Phái"))
            reference = held["reference"]
            confirm_key = idem()
            first = client.post(f"{BOOKINGS}/{reference}/confirm", headers=confirm_key)
            assert first.status_code == 200, first.text
            replayed = client.post(f"{BOOKINGS}/{reference}/confirm", headers=confirm_key)
            assert replayed.json() == first.json()
            other = hold(client, hold_body(flight["flight_id"], "Bùi Thị Xuân"))
            assert_problem(
                client.post(f"{BOOKINGS}/{other['reference']}/confirm", headers=confirm_key),
                422,
                "idempotency_key_reused",
            )
            assert client.get(f"{BOOKINGS}/{other['reference']}").json()["status"] == "held"


class TestIsolationAndReferences:
    def test_another_tenant_cannot_touch_a_booking(
        self, server: Server, key: str, make_key: MakeKey
    ) -> None:
        with server.client(key) as owner, server.client(make_key()) as stranger:
            flight = roomy_flight(owner, "2026-06-21")
            before = seats_left(owner, flight)
            held = hold(owner, hold_body(flight["flight_id"], "Lý Thường Kiệt"))
            reference = held["reference"]
            for response in (
                stranger.get(f"{BOOKINGS}/{reference}"),
                stranger.post(f"{BOOKINGS}/{reference}/confirm"),
                stranger.post(f"{BOOKINGS}/{reference}/cancel"),
            ):
                problem = assert_problem(response, 404, "booking_not_found")
                assert problem["reference"] == reference
            # Untouched: still held, seats still taken.
            assert owner.get(f"{BOOKINGS}/{reference}").json() == held
            assert seats_left(owner, flight) == before - 1

    @pytest.mark.parametrize(
        "reference", ["ABC", "ABCDEFG", "ABC0EF", "AB-CDE", "BOOK1!", "ŁĄCZKA"]
    )
    def test_malformed_references(self, server: Server, key: str, reference: str) -> None:
        with server.client(key) as client:
            for response in (
                client.get(f"{BOOKINGS}/{reference}"),
                client.post(f"{BOOKINGS}/{reference}/confirm"),
                client.post(f"{BOOKINGS}/{reference}/cancel"),
            ):
                assert_problem(response, 422, "invalid_reference")

    def test_unknown_reference(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            for response in (
                client.get(f"{BOOKINGS}/AAAAAA"),
                client.post(f"{BOOKINGS}/AAAAAA/confirm"),
                client.post(f"{BOOKINGS}/AAAAAA/cancel"),
            ):
                assert_problem(response, 404, "booking_not_found")


class TestRules:
    @pytest.mark.parametrize(
        ("change", "code"),
        [
            pytest.param(
                {"passengers": [{"full_name": f"Nguyễn Văn {g}"} for g in GIVEN_NAMES]},
                "invalid_passengers",
                id="ten-passengers",
            ),
            pytest.param({"passengers": []}, "invalid_passengers", id="no-passenger"),
            pytest.param(
                {"passengers": [{"full_name": "Madonna"}]}, "invalid_passengers", id="one-word"
            ),
            pytest.param(
                {"passengers": [{"full_name": "Nguyễn Văn An 2"}]},
                "invalid_passengers",
                id="digit-in-name",
            ),
            pytest.param(
                {"passengers": [{"full_name": "Nguyễn Văn An"}, {"full_name": "nguyen van an"}]},
                "invalid_passengers",
                id="duplicate-passenger",
            ),
            pytest.param(
                {"passengers": [{"full_name": "Nguyễn Văn An", "date_of_birth": "2030-01-01"}]},
                "invalid_passengers",
                id="born-in-the-future",
            ),
            pytest.param(
                {"passengers": [{"full_name": "Nguyễn Văn An", "date_of_birth": "12/04/1990"}]},
                "invalid_passengers",
                id="date-of-birth-not-iso",
            ),
            pytest.param({"contact": {}}, "invalid_contact", id="no-contact"),
            pytest.param(
                {"contact": {"email": None, "phone": None}}, "invalid_contact", id="empty-contact"
            ),
            pytest.param({"contact": {"email": "not-an-email"}}, "invalid_contact", id="bad-email"),
            pytest.param({"contact": {"phone": "12ab"}}, "invalid_contact", id="bad-phone"),
            pytest.param({"contact": None}, "validation_failed", id="contact-null"),
            pytest.param({"cabin": "first"}, "validation_failed", id="unknown-cabin"),
            pytest.param({"flight_id": "abc"}, "validation_failed", id="flight-id-not-a-number"),
            pytest.param({"surprise": True}, "validation_failed", id="unknown-field"),
        ],
    )
    def test_invalid_holds(
        self, server: Server, key: str, change: dict[str, Any], code: str
    ) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-22")
            before = seats_left(client, flight)
            body = {**hold_body(flight["flight_id"], "Nguyễn Văn An"), **change}
            response = client.post(BOOKINGS, json=body, headers=idem())
            after = seats_left(client, flight)
        assert_problem(response, 422, code)
        assert after == before

    def test_missing_contact(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-22")
            body = hold_body(flight["flight_id"], "Nguyễn Văn An")
            del body["contact"]
            response = client.post(BOOKINGS, json=body, headers=idem())
        problem = assert_problem(response, 422, "validation_failed")
        assert any(e["loc"][-1] == "contact" for e in problem["errors"])

    def test_unknown_flight(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            response = client.post(
                BOOKINGS, json=hold_body(2**40 + 7, "Nguyễn Văn An"), headers=idem()
            )
        problem = assert_problem(response, 404, "flight_not_found")
        assert problem["flight_id"] == 2**40 + 7

    def test_too_close_to_departure_or_departed(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            today = search(client, TEST_NOW.date().isoformat())
            soon = [
                f
                for f in today
                if TEST_NOW
                < datetime.fromisoformat(f["departs_at"])
                <= TEST_NOW + timedelta(hours=2)
            ]
            gone = [f for f in today if datetime.fromisoformat(f["departs_at"]) <= TEST_NOW]
            later = [
                f
                for f in today
                if datetime.fromisoformat(f["departs_at"])
                > TEST_NOW + timedelta(hours=2, minutes=5)
            ]
            assert soon, "the seed has flights departing within 2 hours of TEST_NOW"
            assert gone, "the seed has flights that departed earlier today"
            for flight in (soon[0], gone[0]):
                before = seats_left(client, flight)
                response = client.post(
                    BOOKINGS, json=hold_body(flight["flight_id"], "Nguyễn Văn An"), headers=idem()
                )
                assert_problem(response, 409, "booking_closed")
                assert seats_left(client, flight) == before
            # Later the same day is still open.
            assert later
            hold(client, hold_body(later[-1]["flight_id"], "Nguyễn Văn An"))

    def test_sold_out(self, server: Server, key: str) -> None:
        with server.client(key) as client:
            tight = None
            for day in range(23, 31):
                flights = search(client, f"2026-06-{day}", cabin="business")
                small = [f for f in flights if 1 <= f["seats_left"] <= 8]
                if small:
                    tight = small[0]
                    break
            # The seed is deterministic: such a cabin exists; if it ever does not, fail, not skip.
            assert tight is not None, "no business cabin with 1-8 seats left, 23-30 June"
            left = tight["seats_left"]
            names = [f"Trịnh Công {given}" for given in GIVEN_NAMES[: left + 1]]
            body = hold_body(tight["flight_id"], *names, cabin="business")
            response = client.post(BOOKINGS, json=body, headers=idem())
            problem = assert_problem(response, 409, "sold_out")
            assert problem["seats_left"] == left
            assert problem["cabin"] == "business"
            assert seats_left(client, tight, "business") == left


class TestAuth:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", BOOKINGS),
            ("GET", f"{BOOKINGS}/ACDEFG"),
            ("POST", f"{BOOKINGS}/ACDEFG/confirm"),
            ("POST", f"{BOOKINGS}/ACDEFG/cancel"),
        ],
    )
    def test_no_key_is_unauthorized(self, server: Server, method: str, path: str) -> None:
        body = hold_body(1, "Nguyễn Văn An") if path == BOOKINGS else None
        with server.client() as client:
            response = client.request(method, path, json=body, headers=idem())
        assert_problem(response, 401, "unauthorized")

    def test_wrong_key_is_unauthorized(self, server: Server) -> None:
        with server.client("bk_not-a-real-key") as client:
            response = client.post(BOOKINGS, json=hold_body(1, "Nguyễn Văn An"), headers=idem())
        assert_problem(response, 401, "unauthorized")


class TestOpenAPI:
    def test_every_booking_response_is_a_documented_booking(self, server: Server, key: str) -> None:
        """Each booking route documents its success as ``BookingRead``, whose properties are the
        keys of the booking it returns, in order."""
        with server.client(key) as client:
            document = client.get("/openapi.json").json()
            flight = roomy_flight(client, "2026-06-23")
            held = hold(client, hold_body(flight["flight_id"], "Nguyễn Văn An"))
            reference = held["reference"]
            read = client.get(f"{BOOKINGS}/{reference}")
            confirmed = client.post(f"{BOOKINGS}/{reference}/confirm")
            cancelled = client.post(f"{BOOKINGS}/{reference}/cancel")
        operations = {
            ("post", BOOKINGS, "201"): held,
            ("get", f"{BOOKINGS}/{{reference}}", "200"): read.json(),
            ("post", f"{BOOKINGS}/{{reference}}/confirm", "200"): confirmed.json(),
            ("post", f"{BOOKINGS}/{{reference}}/cancel", "200"): cancelled.json(),
        }
        schemas = document["components"]["schemas"]
        booking = schemas["BookingRead"]
        for (method, path, status), body in operations.items():
            response = document["paths"][path][method]["responses"][status]
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/BookingRead"}, (method, path)
            assert list(body) == list(booking["properties"]), (method, path)
            assert list(body["flight"]) == list(schemas["BookedFlightRead"]["properties"])
        assert [body["status"] for body in operations.values()] == [
            "held",
            "held",
            "confirmed",
            "cancelled",
        ]
