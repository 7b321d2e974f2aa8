"""Every answer's first part says which language the traveller wrote in (when their words show
one), so a client draws the answer's cards and buttons in the conversation's language whatever
language the page itself is set to."""

from __future__ import annotations

import pytest

from tests.support.api import chat_body, conversation, new_id
from tests.support.in_process import InProcessApp
from tests.support.sse import Stream


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Tìm chuyến bay từ Sài Gòn đi Hà Nội thứ Sáu tuần sau", "vi"),
        ("tim ve di da nang ngay mai", "vi"),
        ("Find me a flight from Hanoi to Da Nang next Friday", "en"),
        ("weather in Da Nang tomorrow?", "en"),
    ],
)
def test_the_start_part_carries_the_travellers_language(
    server: InProcessApp, key: str, text: str, language: str
) -> None:
    conversation_id = new_id()
    with (
        server.client(key) as client,
        client.stream("POST", "/v1/chat", json=chat_body(conversation_id, text)) as response,
    ):
        records = Stream(response).read_to_end()
        start = records[0].part
        assert start["type"] == "start"
        assert start["messageMetadata"]["language"] == language
        # Stored as sent: the transcript's message has it too.
        stored = conversation(client, conversation_id)
    assistant = [m for m in stored["messages"] if m["role"] == "assistant"]
    assert assistant[-1]["metadata"]["language"] == language


def test_words_that_show_no_language_add_no_claim(server: InProcessApp, key: str) -> None:
    with (
        server.client(key) as client,
        client.stream("POST", "/v1/chat", json=chat_body(new_id(), "VN123 15/6")) as response,
    ):
        start = Stream(response).read_to_end()[0].part
    assert "language" not in (start.get("messageMetadata") or {})
