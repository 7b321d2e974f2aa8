"""Fixed sentences in both languages: greetings, what the assistant can do, clarifying questions."""

from __future__ import annotations

from booking.offline_model.reference_index import place_index
from booking.offline_model.text import Language

_CAPABILITIES = {
    "vi": (
        "Mình có thể:\n"
        "- tìm chuyến bay theo tuyến, ngày, số khách, hạng ghế, giờ bay, hãng và mức giá;\n"
        "- giữ chỗ chuyến bạn chọn, xác nhận, hủy hoặc tra cứu đặt chỗ theo mã;\n"
        "- xem thời tiết ở nơi bạn đến.\n"
        "Ví dụ: “Vé SGN → HAN ngày 15/6 cho 2 người”, rồi “đặt chuyến rẻ nhất”."
    ),
    "en": (
        "I can:\n"
        "- search flights by route, date, passengers, cabin, departure time, airline and price;\n"
        "- hold the flight you pick, then confirm, cancel or look up a booking by reference;\n"
        "- check the weather where you are going.\n"
        "For example: “Flights SGN → HAN on June 15 for 2 people”, then “book the cheapest”."
    ),
}


def capabilities(language: Language) -> str:
    """What the assistant can do, as a short list."""
    return _CAPABILITIES[language]


def greeting(language: Language) -> str:
    """A short greeting followed by what the assistant can do."""
    hello = (
        "Xin chào! Mình là trợ lý bay." if language == "vi" else "Hi! I'm your flight assistant."
    )
    return f"{hello} {capabilities(language)}"


def thanks(language: Language) -> str:
    """The answer to a thank-you."""
    if language == "vi":
        return "Không có gì! Bạn cần tìm, đặt chuyến bay hay xem thời tiết thì cứ nhắn mình nhé."
    return "You're welcome! Ask me any time for flights, bookings or the weather."


#: What the traveller asked for that is not sold here, in words for the answer.
_NOT_SOLD = {
    "transport": ("vé tàu, xe khách hay các phương tiện khác", "train, bus or other tickets"),
    "stay": ("phòng khách sạn hay chỗ ở", "hotel rooms or other stays"),
    "papers": ("visa, hộ chiếu hay bảo hiểm", "visas, passports or insurance"),
}


def unsupported(
    language: Language, *, manages_booking: bool = False, asked: str | None = None
) -> str:
    """A polite no that says plainly what is not sold here, then what the assistant can do.

    Args:
        asked: "transport", "stay" or "papers" when the request was about one of them.
    """
    if asked in _NOT_SOLD:
        vi, en = _NOT_SOLD[asked]
        sorry = (
            f"Xin lỗi, mình chỉ hỗ trợ vé máy bay, chưa đặt được {vi}."
            if language == "vi"
            else f"Sorry, I only handle flights: I can't book {en}."
        )
        return f"{sorry} {capabilities(language)}"
    if manages_booking:
        sorry = (
            "Xin lỗi, mình chưa đổi vé hay hoàn tiền được: tính năng này sẽ sớm có. "
            "Mình có thể hủy đặt chỗ nếu bạn gửi mã đặt chỗ."
            if language == "vi"
            else "Sorry, I can't change bookings or refund them yet: that is coming soon. "
            "I can cancel a booking if you send its reference."
        )
    else:
        sorry = (
            "Xin lỗi, việc này mình chưa làm được."
            if language == "vi"
            else "Sorry, that's not something I can help with yet."
        )
    return f"{sorry} {capabilities(language)}"


def not_understood(language: Language) -> str:
    """The answer when nothing in the message could be acted on."""
    sorry = (
        "Xin lỗi, mình chưa hiểu yêu cầu này."
        if language == "vi"
        else "Sorry, I didn't quite get that."
    )
    return f"{sorry} {capabilities(language)}"


def place_label(value: str, language: Language) -> str:
    """A place as people say it: "Hà Nội" / "Hanoi" for "HAN"; unknown values unchanged."""
    city = place_index().by_tool_name.get(value)
    if city is None:
        return value
    return city.name_vi if language == "vi" else city.name_en


# Each missing detail has a wording for the start of the question and one for later in it.
_ASK = {
    "vi": {
        "origin": ("bay từ đâu", "bay từ đâu"),
        "destination": ("muốn bay đến đâu", "đến đâu"),
        "date": ("muốn bay vào ngày nào", "vào ngày nào"),
        "return_date": ("muốn bay về vào ngày nào", "ngày nào bay về"),
        "weather_place": ("muốn xem thời tiết ở đâu", "xem thời tiết ở đâu"),
    },
    "en": {
        "origin": ("where are you flying from", "where from"),
        "destination": ("where would you like to fly to", "where to"),
        "date": ("which day would you like to fly", "on which date"),
        "return_date": ("which day would you like to fly back", "when you'd like to fly back"),
        "weather_place": (
            "which place should I check the weather for",
            "where to check the weather",
        ),
    },
}


def ask_missing(missing: tuple[str, ...], language: Language) -> str:
    """One question naming exactly what is missing ("Bạn bay từ đâu và vào ngày nào?")."""
    parts = [_ASK[language][key][0 if i == 0 else 1] for i, key in enumerate(missing)]
    if language == "vi":
        joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " và " + parts[-1]
        return f"Bạn {joined}?"
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]
    return joined[0].upper() + joined[1:] + "?"


def request_summary(arguments: dict[str, object], language: Language) -> str:
    """What was understood so far, to show before a clarifying question."""
    origin = arguments.get("from_city")
    destination = arguments.get("to_city")
    if origin and destination:
        names = place_label(str(origin), language), place_label(str(destination), language)
        route = (
            f"từ {names[0]} đến {names[1]}"
            if language == "vi"
            else f"from {names[0]} to {names[1]}"
        )
    elif destination:
        name = place_label(str(destination), language)
        route = f"đến {name}" if language == "vi" else f"to {name}"
    elif origin:
        name = place_label(str(origin), language)
        route = f"từ {name}" if language == "vi" else f"from {name}"
    else:
        return ""
    if language == "vi":
        return f"Mình sẽ tìm chuyến bay {route} cho bạn."
    return f"I'll look for flights {route}."
