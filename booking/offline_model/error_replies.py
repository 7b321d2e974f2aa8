"""Tool errors explained to the traveller, in Vietnamese or English. Pure.

Tool errors arrive as ``{"error": {"code": ..., "message": ..., **details}}``. The ``message``
is English, written for the model as much as for people, and names places in Vietnamese; it
is never shown as it is. Every code the service returns has its own sentence in each language,
built from the details (the place typed, the date, the seats left), and says what did not
happen and what to do next. A code this module does not know gets a plain apology in
Vietnamese and the message in English.

Errors of the booking tools are explained apart (:func:`_booking`), since what matters to the
traveller there is what did not happen ("approval_denied": nothing was booked).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from functools import cache
from typing import Any

from booking.domain.places import fold
from booking.domain.wording import count, format_day, format_vnd
from booking.offline_model.lexicon import place_index
from booking.offline_model.phrases import place_label
from booking.offline_model.text import Language
from booking.reference import load_network

#: "Đà Lạt (DLI)" or "Thành phố Hồ Chí Minh (SGN, VCS)": a place name with its airport codes.
_NAMED_PLACE = re.compile(r"^(?P<name>.*?)\s*\((?P<codes>[A-Z]{3}(?:,\s*[A-Z]{3})*)\)$")
#: "Sa Pa (near HAN)": a place without an airport, with the airports that serve it.
_NEAR_PLACE = re.compile(r"^(?P<name>.*?)\s*\(near (?P<codes>[A-Z]{3}(?:,\s*[A-Z]{3})*)\)$")


def _day(value: Any, language: Language) -> str:
    try:
        return format_day(date.fromisoformat(str(value)), language)
    except ValueError:
        return str(value)


def _names(values: Any) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def _name(name: str, language: Language) -> str:
    """A place name in the answer's language: "Da Lat" for "Đà Lạt" in English."""
    if language == "vi":
        return name
    city = place_index().aliases.get(fold(name))
    # Only the place's own name: an alias may be another place served by the same airport.
    if city is not None and fold(city.name_vi) == fold(name):
        return city.name_en
    # A place the lexicon does not know is written the way English writes Vietnamese names.
    plain = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if not unicodedata.combining(c))


def _places(values: Any, language: Language) -> list[str]:
    """Suggested places in the answer's language: "Da Lat (DLI)" for "Đà Lạt (DLI)"."""
    out: list[str] = []
    for value in _names(values):
        near = _NEAR_PLACE.match(value)
        if near is not None:
            # A place without an airport, offered with the airports near it.
            word = "gần" if language == "vi" else "near"
            out.append(f"{_name(near['name'], language)} ({word} {near['codes']})")
            continue
        match = _NAMED_PLACE.match(value)
        if match is None:
            out.append(_name(value, language))
            continue
        name = _name(match["name"], language)
        if name == match["name"] and language == "en":
            # Not a name the lexicon knows: its airport's city is.
            code = match["codes"].split(",")[0].strip()
            label = place_label(code, language)
            name = label if label != code else name
        out.append(f"{name} ({match['codes']})")
    return out


@cache
def _airlines() -> tuple[str, bool]:
    """The Vietnamese airlines by name, and whether foreign ones fly here too."""
    airlines = load_network().airlines
    names = ", ".join(str(row["name"]) for row in airlines if row.get("country") == "VN")
    return names, any(row.get("country") != "VN" for row in airlines)


#: Tool parameters as the traveller knows them.
_PARAMETERS = {
    "from_city": ("điểm đi", "where you fly from"),
    "to_city": ("điểm đến", "where you fly to"),
    "date": ("ngày bay", "the date"),
    "passengers": ("hành khách", "the passengers"),
    "cabin": ("hạng ghế", "the cabin"),
    "max_price": ("mức giá", "the price limit"),
    "depart_after": ("giờ bay", "the departure time"),
    "depart_before": ("giờ bay", "the departure time"),
    "airline": ("hãng bay", "the airline"),
    "sort": ("cách sắp xếp", "the sort order"),
    "limit": ("số chuyến cần xem", "how many flights to show"),
    "city": ("địa điểm", "the place"),
    "reference": ("mã đặt chỗ", "the booking reference"),
    "flight_id": ("chuyến bay", "the flight"),
    "contact": ("thông tin liên hệ", "the contact details"),
}


def _parameters(error: Mapping[str, Any], language: Language) -> str | None:
    """The parameters an ``invalid_arguments`` error is about, in words ("ngày bay")."""
    named: list[str] = []
    for item in error.get("errors") or []:
        loc = item.get("loc") if isinstance(item, Mapping) else None
        key = str(loc[0]) if isinstance(loc, list) and loc else ""
        if key in _PARAMETERS:
            word = _PARAMETERS[key][0 if language == "vi" else 1]
            if word not in named:
                named.append(word)
    if not named:
        return None
    joiner = " và " if language == "vi" else " and "
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + joiner + named[-1]


# Each explainer returns the Vietnamese and the English sentence.
_Explainer = Callable[[Mapping[str, Any], Mapping[str, Any], str], tuple[str, str]]


def _query(error: Mapping[str, Any], arguments: Mapping[str, Any]) -> str:
    value = error.get("query")
    if value is None:
        value = arguments.get("from_city") or arguments.get("city") or ""
    return str(value).strip()


def _unknown_place(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    query = _query(error, arguments)
    if not query:
        return (
            "Bạn cho mình biết tên thành phố hoặc mã sân bay nhé.",
            "Please tell me a city or an airport code.",
        )
    vi = f"Mình không tìm thấy địa điểm nào tên “{query}”."
    en = f"I couldn't find a place called “{query}”."
    suggestions_vi = _places(error.get("suggestions"), "vi")
    if suggestions_vi:
        suggestions_en = _places(error.get("suggestions"), "en")
        return (
            f"{vi} Có phải bạn muốn nói: {'; '.join(suggestions_vi)}?",
            f"{en} Did you mean: {'; '.join(suggestions_en)}?",
        )
    return (
        f"{vi} Bạn kiểm tra lại tên thành phố hoặc mã sân bay giúp mình nhé.",
        f"{en} Please check the city name or the airport code.",
    )


def _ambiguous_place(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    query = _query(error, arguments)
    options = error.get("candidates") or error.get("suggestions")
    return (
        f"“{query}” có thể là nhiều nơi: {'; '.join(_places(options, 'vi'))}. "
        "Bạn muốn nói nơi nào?",
        f"“{query}” could be several places: {'; '.join(_places(options, 'en'))}. "
        "Which one do you mean?",
    )


def _place_error(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    query = _query(error, arguments)
    return (
        f"Mình chưa xác định được địa điểm “{query}”. "
        "Bạn ghi rõ tên thành phố hoặc mã sân bay giúp mình nhé.",
        f"I couldn't work out the place “{query}”. Please give a city name or an airport code.",
    )


def _date_in_past(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    asked = error.get("date") or arguments.get("date") or ""
    day_vi, day_en = _day(asked, "vi"), _day(asked, "en")
    today = error.get("today")
    if tool == "get_weather" and today:
        return (
            f"Mình chỉ xem được thời tiết từ hôm nay ({_day(today, 'vi')}) trở đi, "
            f"không xem được cho {day_vi}.",
            f"I only have the weather from today ({_day(today, 'en')}) on, not for {day_en}.",
        )
    return (
        f"{day_vi} đã qua rồi"
        + (f" (hôm nay là {_day(today, 'vi')})" if today else "")
        + ". Bạn chọn một ngày từ hôm nay trở đi nhé.",
        f"{day_en} has already passed"
        + (f" (today is {_day(today, 'en')})" if today else "")
        + ". Please pick today or a later date.",
    )


def _date_beyond_horizon(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    asked = error.get("date") or arguments.get("date") or ""
    ahead = error.get("max_days_ahead")
    return (
        f"{_day(asked, 'vi')} còn xa quá: vé mới chỉ mở bán "
        + (f"trong vòng {ahead} ngày tới." if ahead else "cho những ngày gần đây."),
        f"{_day(asked, 'en')} is too far ahead: tickets are only on sale "
        + (f"up to {count(int(ahead), 'day', 'en')} ahead." if ahead else "for nearer dates."),
    )


def _invalid_date(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    value = error.get("value")
    if value is not None and value in (
        arguments.get("depart_after"),
        arguments.get("depart_before"),
    ):
        return (
            f"Mình không đọc được giờ “{value}”. Bạn ghi giờ theo dạng 18:00 hoặc 18h nhé.",
            f"I couldn't read the time “{value}”. Please write it like 18:00.",
        )
    shown = f" “{value}”" if value else ""
    return (
        f"Mình không đọc được ngày{shown}. Bạn ghi ngày theo dạng 15/6 hoặc 2026-06-15 nhé.",
        f"I couldn't read the date{shown}. Please write it like 15 June or 2026-06-15.",
    )


def _validation_failed(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    after, before = error.get("depart_after"), error.get("depart_before")
    if after and before:
        return (
            f"Khung giờ chưa hợp lệ: {after} muộn hơn {before}. Bạn chọn lại khung giờ nhé.",
            f"That time window doesn't work: {after} is later than {before}. Please widen it.",
        )
    if "max_price" in error:
        return (
            "Mức giá tối đa phải lớn hơn 0. Bạn cho mình mức giá khác nhé.",
            "The price limit has to be above zero. Please give me another one.",
        )
    return (
        "Một vài thông tin trong yêu cầu chưa hợp lệ. Bạn kiểm tra lại giúp mình nhé.",
        "Some details of the request weren't valid. Please check them.",
    )


def _same_place(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    origin, destination = str(error.get("origin") or ""), str(error.get("destination") or "")
    airports = [str(code) for code in error.get("airports") or []]
    served_vi = ", ".join(f"{place_label(code, 'vi')} ({code})" for code in airports)
    served_en = ", ".join(f"{place_label(code, 'en')} ({code})" for code in airports)
    if not (origin and destination and airports):
        return (
            "Hai nơi này dùng chung một sân bay nên không có chuyến bay nào giữa chúng.",
            "Those two places share an airport, so no flight connects them.",
        )
    return (
        f"{origin} và {destination} dùng chung sân bay {served_vi} nên không có chuyến bay "
        "nào giữa hai nơi này; bạn đi đường bộ sẽ tiện hơn.",
        f"{_name(origin, 'en')} and {_name(destination, 'en')} share the same airport, "
        f"{served_en}, so no flight connects them; going by road is easier.",
    )


def _unknown_airline(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    airline = error.get("airline") or arguments.get("airline") or ""
    names, foreign = _airlines()
    return (
        f"Mình không nhận ra hãng bay “{airline}”. Mình tìm được các hãng {names}"
        + (" và nhiều hãng quốc tế." if foreign else "."),
        f"I don't know the airline “{airline}”. I can search {names}"
        + (" and many international airlines." if foreign else "."),
    )


def _not_found(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    if tool == "get_weather":
        city = str(arguments.get("city") or "")
        return (
            f"Mình chưa có số liệu thời tiết cho {place_label(city, 'vi')}.",
            f"I don't have weather data for {place_label(city, 'en')} yet.",
        )
    return ("Mình không tìm thấy thông tin này.", "I couldn't find that.")


def _invalid_arguments(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    vi, en = _parameters(error, "vi"), _parameters(error, "en")
    if vi and en:
        return (
            f"Mình chưa hiểu đúng {vi} trong yêu cầu nên chưa tra cứu được. "
            "Bạn nói lại rõ hơn giúp mình nhé.",
            f"I couldn't read {en} in your request, so I didn't look it up. "
            "Could you say it again?",
        )
    return (
        "Mình chưa hiểu đúng yêu cầu nên chưa tra cứu được. Bạn nói lại rõ hơn giúp mình nhé.",
        "I didn't get that request right, so I didn't look it up. Could you say it again?",
    )


def _fare_changed(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    price = error.get("price_vnd")
    if price is None:
        return (
            "Giá vé chuyến này vừa thay đổi. Bạn tìm lại để xem giá mới rồi đặt nhé.",
            "The fare of this flight just changed. Search again to see the new price.",
        )
    return (
        f"Giá vé chuyến này vừa đổi thành {format_vnd(int(price), 'vi')}. "
        "Bạn tìm lại để xem giá mới rồi đặt nhé.",
        f"The fare of this flight just changed to {format_vnd(int(price), 'en')}. "
        "Search again to see the new price.",
    )


def _fixed(vi: str, en: str) -> _Explainer:
    return lambda error, arguments, tool: (vi, en)


_FAILED = _fixed(
    "Đã có lỗi khi tra cứu. Bạn thử lại sau ít phút nhé.",
    "Something went wrong on our side. Please try again in a few minutes.",
)
_TECHNICAL = _fixed(
    "Có trục trặc kỹ thuật nên yêu cầu chưa được thực hiện; không có gì thay đổi. Bạn thử lại nhé.",
    "A technical problem stopped that request; nothing changed. Please try again.",
)
_RESTARTING = _fixed(
    "Hệ thống đang khởi động lại. Bạn thử lại sau ít phút nhé.",
    "The service is restarting. Please try again in a minute.",
)

#: One explainer per code the service, the tools and the turn runner can return.
_EXPLAINERS: dict[str, _Explainer] = {
    "unknown_place": _unknown_place,
    "ambiguous_place": _ambiguous_place,
    "place_error": _place_error,
    "date_in_past": _date_in_past,
    "date_beyond_horizon": _date_beyond_horizon,
    "invalid_date": _invalid_date,
    "validation_failed": _validation_failed,
    "unknown_airline": _unknown_airline,
    "not_found": _not_found,
    "invalid_arguments": _invalid_arguments,
    "fare_changed": _fare_changed,
    "same_place": _same_place,
    "same_origin_destination": _fixed(
        "Điểm đi và điểm đến đang trùng nhau. Bạn chọn hai nơi khác nhau nhé.",
        "You're flying from and to the same place. Please pick two different places.",
    ),
    "invalid_passengers": _fixed(
        "Mỗi lần tìm được cho 1 đến 9 hành khách.",
        "I can search for 1 to 9 passengers at a time.",
    ),
    "unknown_cabin": _fixed(
        "Hiện chỉ có hạng phổ thông và hạng thương gia.",
        "There are two cabins: economy and business.",
    ),
    "invalid_sort": _fixed(
        "Mình chỉ sắp xếp được theo giá, giờ khởi hành hoặc thời gian bay.",
        "I can sort flights by price, departure time or flight time.",
    ),
    "invalid_contact": _fixed(
        "Số điện thoại hoặc email chưa hợp lệ. Bạn gửi lại số di động "
        "(ví dụ 0901234567) hoặc email nhé.",
        "That phone number or email wasn't accepted. Please send a mobile number or an email.",
    ),
    "invalid_reference": _fixed(
        "Mã đặt chỗ gồm 6 ký tự chữ và số (ví dụ K7QX3M). Bạn kiểm tra lại nhé.",
        "A booking reference is 6 letters and digits, e.g. K7QX3M. Please check it.",
    ),
    "flight_not_found": _fixed(
        "Mình không tìm thấy chuyến bay này nữa. Bạn tìm lại chuyến bay nhé.",
        "That flight is no longer in the schedule. Please search again.",
    ),
    "booking_not_found": _fixed(
        "Mình không tìm thấy đặt chỗ này. Bạn kiểm tra lại mã (6 ký tự) nhé.",
        "I couldn't find that booking. Please check the 6-character reference.",
    ),
    "approval_not_found": _fixed(
        "Yêu cầu đồng ý này không còn nữa nên mình chưa làm gì. Bạn nhắn lại nếu vẫn muốn làm nhé.",
        "That approval request no longer exists, so nothing was done. "
        "Ask again if you still want it.",
    ),
    "approval_decided": _fixed(
        "Yêu cầu này đã được trả lời rồi, không cần trả lời lại.",
        "That request has already been answered.",
    ),
    "approval_mismatch": _fixed(
        "Thông tin cần đồng ý không khớp với yêu cầu ban đầu nên mình chưa làm gì. "
        "Bạn xem lại rồi đồng ý lần nữa nhé.",
        "What was approved doesn't match the request, so nothing was done. "
        "Please review it and approve again.",
    ),
    "conflict": _fixed(
        "Yêu cầu này chưa thực hiện được vì dữ liệu vừa thay đổi. Bạn thử lại nhé.",
        "That couldn't be done because something just changed. Please try again.",
    ),
    "sold_out": _fixed(
        "Chuyến này đã hết chỗ. Bạn chọn chuyến khác nhé.",
        "This flight is sold out. Please pick another one.",
    ),
    "booking_closed": _fixed(
        "Chuyến này không còn nhận đặt chỗ. Bạn chọn chuyến muộn hơn nhé.",
        "Booking is closed for this flight. Please pick a later one.",
    ),
    "hold_expired": _fixed(
        "Thời gian giữ chỗ đã hết nên chỗ đã được trả lại. Bạn chọn lại chuyến nhé.",
        "The hold has expired and its seats were released. Pick the flight again.",
    ),
    "booking_not_confirmable": _fixed(
        "Đặt chỗ này không xác nhận được nữa.",
        "This booking can't be confirmed any more.",
    ),
    "booking_not_cancellable": _fixed(
        "Đặt chỗ này không hủy được nữa.",
        "This booking can't be cancelled any more.",
    ),
    "approval_denied": _fixed(
        "Bạn đã không đồng ý nên mình chưa làm gì cả.",
        "You declined, so nothing was done.",
    ),
    "approval_expired": _fixed(
        "Yêu cầu bạn đồng ý đã hết hạn nên mình chưa làm gì. Bạn nhắn lại nếu vẫn muốn làm nhé.",
        "The approval request timed out, so nothing was done. Ask again if you still want it.",
    ),
    "idempotency_key_reused": _fixed(
        "Yêu cầu này trùng với một yêu cầu trước đó nên mình chưa thực hiện. Bạn thử lại nhé.",
        "This request clashed with an earlier one, so nothing was done. Please try again.",
    ),
    "idempotency_key_required": _TECHNICAL,
    "not_run": _fixed(
        "Yêu cầu tra cứu bị gián đoạn nên chưa được thực hiện. Bạn thử lại nhé.",
        "The lookup was interrupted and didn't run. Please try again.",
    ),
    "tool_timeout": _fixed(
        "Hệ thống tra cứu đang phản hồi chậm. Bạn thử lại sau ít phút nhé.",
        "The lookup is taking too long right now. Please try again in a few minutes.",
    ),
    "unknown_tool": _fixed(
        "Việc này mình chưa làm được.",
        "That's not something I can do yet.",
    ),
    "tool_failed": _FAILED,
    "internal_error": _FAILED,
    "service_unavailable": _FAILED,
    "database_unavailable": _FAILED,
    "upstream_error": _FAILED,
    "upstream_unavailable": _FAILED,
    "upstream_auth": _TECHNICAL,
    "upstream_bad_request": _TECHNICAL,
    "upstream_protocol": _FAILED,
    "upstream_stalled": _FAILED,
    "upstream_incomplete": _fixed(
        "Câu trả lời bị ngắt giữa chừng nên chưa có gì được thực hiện. Bạn thử lại nhé.",
        "The answer was cut off midway, so nothing was done. Please try again.",
    ),
    "output_tokens_exhausted": _fixed(
        "Câu trả lời quá dài nên bị cắt ngang; chưa có gì được thực hiện. Bạn hỏi ngắn gọn hơn nhé.",
        "The answer ran too long and was cut off; nothing was done. Please ask more briefly.",
    ),
    "content_filtered": _fixed(
        "Câu trả lời đã bị bộ lọc nội dung chặn. Bạn diễn đạt lại giúp mình nhé.",
        "The answer was stopped by a content filter. Could you rephrase?",
    ),
    "upstream_timeout": _fixed(
        "Hệ thống đang phản hồi chậm. Bạn thử lại sau ít phút nhé.",
        "We're slow to respond right now. Please try again in a few minutes.",
    ),
    "upstream_rate_limited": _fixed(
        "Hệ thống đang quá tải. Bạn thử lại sau ít phút nhé.",
        "We're overloaded right now. Please try again in a few minutes.",
    ),
    "model_config_invalid": _TECHNICAL,
    "unauthorized": _fixed(
        "Bạn cần khóa API hợp lệ để dùng dịch vụ này.",
        "You need a valid API key for this.",
    ),
    "rate_limited": _fixed(
        "Bạn gửi hơi nhanh; đợi một chút rồi thử lại nhé.",
        "That's a lot of requests at once; please wait a moment and try again.",
    ),
    "turn_running": _fixed(
        "Mình vẫn đang trả lời tin nhắn trước; bạn đợi một chút nhé.",
        "I'm still answering your previous message; please wait a moment.",
    ),
    "conversation_exists": _fixed(
        "Cuộc trò chuyện này đã có rồi.",
        "This conversation already exists.",
    ),
    "server_busy": _fixed(
        "Hệ thống đang bận. Bạn thử lại sau ít phút nhé.",
        "We're busy right now. Please try again in a few minutes.",
    ),
    "shutting_down": _RESTARTING,
    "server_restarting": _RESTARTING,
    "message_too_long": _fixed(
        "Tin nhắn dài quá; bạn viết ngắn lại giúp mình nhé.",
        "That message is too long; please shorten it.",
    ),
}

#: Every code with its own sentence (a test checks it covers :mod:`booking.errors`).
KNOWN_CODES = frozenset(_EXPLAINERS)

_ACTIONS = {
    "hold_booking": ("giữ chỗ", "hold the seats"),
    "confirm_booking": ("xác nhận đặt chỗ", "confirm the booking"),
    "cancel_booking": ("hủy đặt chỗ", "cancel the booking"),
    "get_booking": ("tra cứu đặt chỗ", "look up the booking"),
}
_STATUS = {
    "held": ("đang giữ chỗ", "only held"),
    "confirmed": ("đã xác nhận", "confirmed"),
    "cancelled": ("đã hủy", "cancelled"),
    "expired": ("đã hết hạn", "expired"),
}
#: Codes only booking tools return. Others ("invalid_passengers", "not_run") are explained as
#: booking errors only when a booking tool returned them: "invalid_passengers" of a search is
#: about the count, of a hold about the names.
_BOOKING_CODES = frozenset(
    {"approval_denied", "approval_expired", "sold_out", "flight_not_found", "booking_closed"}
    | {"invalid_contact", "booking_not_found", "invalid_reference", "hold_expired"}
    | {"booking_not_confirmable", "booking_not_cancellable"}
)


def _declined(tool: str, reference: str, vi: bool) -> str:
    if tool == "confirm_booking":
        return (
            f"Bạn đã không đồng ý nên đặt chỗ {reference} chưa được xác nhận (vẫn chỉ đang giữ chỗ)."
            if vi
            else f"You declined, so booking {reference} was not confirmed; it is still only held."
        )
    if tool == "cancel_booking":
        return (
            f"Bạn đã không đồng ý nên đặt chỗ {reference} vẫn giữ nguyên, chưa bị hủy."
            if vi
            else f"You declined, so booking {reference} was not cancelled and stays as it was."
        )
    return (
        "Bạn đã không đồng ý nên mình chưa đặt gì cả. "
        "Bạn muốn chọn chuyến khác hay sửa thông tin thì cứ nhắn nhé."
        if vi
        else "You declined, so nothing was booked. "
        "Tell me if you'd like another flight or different details."
    )


def _sold_out(error: Mapping[str, Any], arguments: Mapping[str, Any], vi: bool) -> str:
    cabin = str(error.get("cabin") or arguments.get("cabin") or "economy")
    cabin_vi = "thương gia" if cabin == "business" else "phổ thông"
    cabin_en = "business" if cabin == "business" else "economy"
    left = int(error.get("seats_left") or 0)
    wanted = len(arguments.get("passengers") or []) or 1
    if left > 0:
        return (
            f"Chuyến này chỉ còn {left} chỗ hạng {cabin_vi}, không đủ cho {wanted} khách. "
            "Bạn chọn chuyến khác hoặc bớt số khách nhé."
            if vi
            else f"Only {count(left, cabin_en + ' seat', 'en')} left on this flight, not enough "
            f"for {count(wanted, 'passenger', 'en')}. Pick another flight or fewer passengers."
        )
    return (
        f"Chuyến này đã hết chỗ hạng {cabin_vi}. Bạn chọn chuyến khác nhé."
        if vi
        else f"This flight is sold out in {cabin_en}. Please pick another flight."
    )


def _not_changeable(code: str, error: Mapping[str, Any], reference: str, vi: bool) -> str:
    status = str(error.get("booking_status") or error.get("status") or "")
    confirming = code == "booking_not_confirmable"
    verb_vi, verb_en = ("xác nhận", "confirmed") if confirming else ("hủy", "cancelled")
    state = _STATUS.get(status)
    if state is None:
        # Without a status the server refused because the flight has already left.
        return (
            f"Chuyến bay của đặt chỗ {reference} đã cất cánh nên không {verb_vi} được nữa."
            if vi
            else f"The flight of booking {reference} has already left, so it can't be {verb_en}."
        )
    return (
        f"Đặt chỗ {reference} đang ở trạng thái “{state[0]}” nên không {verb_vi} được."
        if vi
        else f"Booking {reference} is {state[1]}, so it can't be {verb_en}."
    )


def _booking(
    code: str, error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str, vi: bool
) -> str | None:
    """The sentence for an error of a booking tool, or None for codes it does not know."""
    reference = str(error.get("reference") or arguments.get("reference") or "").upper()
    action_vi, action_en = _ACTIONS.get(tool, ("thực hiện yêu cầu", "do that"))
    if code == "approval_denied":
        return _declined(tool, reference, vi)
    if code == "approval_expired":
        return (
            f"Yêu cầu bạn đồng ý đã hết hạn nên mình chưa {action_vi}; không có gì thay đổi. "
            "Bạn nhắn lại nếu vẫn muốn làm nhé."
            if vi
            else f"The approval request timed out, so I didn't {action_en}; nothing changed. "
            "Ask again if you still want to."
        )
    if code == "not_run":
        return (
            f"Yêu cầu {action_vi} bị gián đoạn nên chưa được thực hiện. Bạn thử lại nhé."
            if vi
            else f"The request to {action_en} was interrupted and did not run. Please try again."
        )
    if code == "sold_out":
        return _sold_out(error, arguments, vi)
    if code == "flight_not_found":
        return (
            "Mình không tìm thấy chuyến bay này nữa (lịch bay có thể đã thay đổi). "
            "Bạn tìm lại chuyến bay nhé."
            if vi
            else "That flight is no longer in the schedule. Please search again."
        )
    if code == "booking_closed":
        return (
            "Chuyến này đã cất cánh hoặc sắp cất cánh nên không còn nhận đặt chỗ. "
            "Bạn chọn chuyến muộn hơn nhé."
            if vi
            else "Booking is closed for this flight: it has left or leaves too soon. "
            "Please pick a later flight."
        )
    if code == "invalid_passengers":
        which = error.get("passenger")
        return (
            "Thông tin hành khách chưa hợp lệ"
            + (f" (hành khách số {which})" if which else "")
            + ". Bạn gửi lại họ tên đầy đủ như trên giấy tờ "
            "(ít nhất hai chữ, chỉ gồm chữ cái) và ngày sinh nếu có nhé."
            if vi
            else "The details of "
            + (f"passenger {which}" if which else "a passenger")
            + " weren't accepted. Please send each full name as on the ID "
            "(family and given names, letters only), and the date of birth if you have it."
        )
    if code == "invalid_contact":
        return (
            "Số điện thoại hoặc email chưa hợp lệ. Bạn gửi lại số di động "
            "(ví dụ 0901234567) hoặc email nhé."
            if vi
            else "The contact details weren't accepted. Please send a mobile number "
            "(e.g. 0901234567) or an email."
        )
    if code == "invalid_reference":
        return (
            f"“{reference}” không phải mã đặt chỗ hợp lệ: mã gồm 6 ký tự chữ và số "
            "(ví dụ K7QX3M). Bạn kiểm tra lại nhé."
            if vi
            else f"“{reference}” isn't a valid booking reference: references are 6 letters "
            "and digits, e.g. K7QX3M. Please check it."
        )
    if code == "booking_not_found":
        return (
            f"Mình không tìm thấy đặt chỗ nào mã {reference}. Bạn kiểm tra lại mã (6 ký tự) nhé."
            if vi
            else f"I couldn't find a booking with reference {reference}. "
            "Please check the 6-character code."
        )
    if code == "hold_expired":
        return (
            f"Thời gian giữ chỗ của {reference} đã hết nên chỗ đã được trả lại. "
            "Bạn chọn lại chuyến để mình giữ chỗ mới nhé."
            if vi
            else f"The hold on {reference} has expired and its seats were released. "
            "Pick the flight again for a new hold."
        )
    if code in ("booking_not_confirmable", "booking_not_cancellable"):
        return _not_changeable(code, error, reference, vi)
    if code == "unknown_cabin":
        return (
            "Chuyến này không có hạng ghế đó. Bạn chọn hạng phổ thông hoặc chọn chuyến khác nhé."
            if vi
            else "This flight doesn't have that cabin. Choose economy or another flight."
        )
    return None


def explain_error(
    error: Any, arguments: Mapping[str, Any], language: Language, *, tool: str = ""
) -> str:
    """One or two sentences saying what went wrong and what to try, in ``language`` only.

    Args:
        error: the tool result's ``error`` object.
        arguments: the arguments of the call that failed.
        language: the language to answer in.
        tool: the name of the tool that failed, when known.
    """
    if not isinstance(error, Mapping):
        error = {"code": "tool_failed", "message": str(error)}
    code = str(error.get("code") or "tool_failed")
    if tool in _ACTIONS or code in _BOOKING_CODES:
        sentence = _booking(code, error, arguments, tool, language == "vi")
        if sentence is not None:
            return sentence
    explainer = _EXPLAINERS.get(code)
    if explainer is not None:
        vi, en = explainer(error, arguments, tool)
        return vi if language == "vi" else en
    if language == "vi":
        # The English message of an unknown code is no answer for a Vietnamese reader.
        return "Mình chưa thực hiện được yêu cầu này. Bạn thử lại hoặc nói rõ hơn giúp mình nhé."
    message = str(error.get("message") or "").strip()
    return message or "Something went wrong with that request. Please try again."
