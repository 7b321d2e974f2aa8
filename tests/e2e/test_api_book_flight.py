"""Booking in one decision through the API: the model calls ``book_flight``, the reply pauses
for ONE approval that shows flight, times, passengers and total, and approving it ends with a
confirmed booking, streamed as the tool's output and as a ``data-booking`` part keyed by the
reference (a client replaces the card in place when a later part changes its status).

The model is the fake provider, scripted; the app runs in process with its lifespan.
"""

from __future__ import annotations

from typing import Any

from tests.support.api import new_id, wait_idle
from tests.support.approvals import (
    Bookings,
    assert_status,
    call_id,
    pause,
    queue_hold,
    read_stream,
)
from tests.support.booking_requests import roomy_flight, seats_left
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.in_process import StartApp
from tests.support.sse import of_type, types
from tests.support.tools import call_chunks

BOOKED = "Đã đặt vé cho hai hành khách."
CANCELLED = "Đã hủy."


def test_one_approval_books_and_confirms(
    start_app: StartApp,
    key: str,
    provider: FakeProvider,
    llm: dict[str, Any],
    bookings_of: Bookings,
) -> None:
    server = start_app(**llm)
    conversation_id = new_id()
    call, cancel_call = call_id(), call_id()
    with server.client(key) as client:
        flight = roomy_flight(client, "2026-06-13", origin="HAN", destination="SGN")
        queue_hold(provider, call, flight["flight_id"], then=BOOKED, tool="book_flight")
        before = seats_left(client, flight)
        paused = pause(client, conversation_id, call)
        held_while_asking = seats_left(client, flight)
        with client.stream("POST", paused.path, json={"approved": True}) as response:
            records = read_stream(response)
        after = seats_left(client, flight)
        wait_idle(client, conversation_id)
        outputs = of_type(records, "tool-output-available")
        booking = outputs[0]["output"]["booking"]
        by_rest = client.get(f"/v1/bookings/{booking['reference']}")
        # A later change of the same booking: a cancel, approved, streams the same card id.
        provider.scripts.clear()  # the provider repeats its last script; start afresh
        provider.queue(
            Script(
                events=call_chunks(
                    cancel_call, "cancel_booking", {"reference": booking["reference"]}
                )
            ),
            Script(events=text_chunks(CANCELLED)),
        )
        cancel_paused = pause(client, conversation_id, cancel_call)
        with client.stream("POST", cancel_paused.path, json={"approved": True}) as response:
            cancel_records = read_stream(response)
        wait_idle(client, conversation_id)
        transcript = client.get(f"/v1/conversations/{conversation_id}")

    # One approval, shown with everything that becomes final.
    descriptor = paused.request["approvalDescriptor"]
    assert descriptor["action"] == "book"
    assert descriptor["flight"]["flight_number"] == flight["flight_number"]
    assert [p["full_name"] for p in descriptor["passengers"]] == ["Nguyễn Văn An", "Trần Thị Bình"]
    assert descriptor["total_vnd"] == 2 * descriptor["price_per_passenger_vnd"]
    assert descriptor["text_vi"].startswith(f"Đặt vé {flight['flight_number']} ")
    assert descriptor["text"].startswith(f"Book {flight['flight_number']} ")
    assert paused.request["reason"] in (descriptor["text"], descriptor["text_vi"])
    assert held_while_asking == before  # asking takes no seat

    # Approved: confirmed at once, two seats taken, the card streamed once, keyed by reference.
    assert booking["status"] == "confirmed"
    assert booking["hold_expires_at"] is None
    assert before - after == 2
    assert_status(by_rest, 200)
    assert by_rest.json()["status"] == "confirmed"
    cards = of_type(records, "data-booking")
    assert cards == [{"type": "data-booking", "id": booking["reference"], "data": booking}]
    kinds = types(records)
    assert kinds.index("tool-output-available") < kinds.index("data-booking")
    assert kinds.index("data-booking") < kinds.index("text-delta")
    assert bookings_of(conversation_id) == [
        {
            "reference": booking["reference"],
            "status": "cancelled",
            "flight_id": flight["flight_id"],
            "passenger_count": 2,
        }
    ]

    # The cancel streams the same card id with the new status.
    (cancelled,) = of_type(cancel_records, "data-booking")
    assert cancelled["id"] == booking["reference"]
    assert cancelled["data"]["status"] == "cancelled"

    # A client hydrating the conversation gets the cards too, the newest in each message.
    assert_status(transcript, 200)
    stored = [
        (part["id"], part["data"]["status"])
        for message in transcript.json()["messages"]
        for part in message["parts"]
        if part["type"] == "data-booking"
    ]
    assert stored == [(booking["reference"], "confirmed"), (booking["reference"], "cancelled")]
