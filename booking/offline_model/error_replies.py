"""Tool errors explained to the user: Vietnamese sentences for the common codes, else the message.

Tool errors arrive as ``{"error": {"code": ..., "message": ..., **details}}``. The English
``message`` is already written for people, so English answers use it as it is (adding place
suggestions it lacks); Vietnamese answers translate the codes they know and fall back on it.
Errors of the booking tools are explained in both languages, since what matters to the
traveller is what did not happen ("approval_denied": nothing was booked) and what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from booking.offline_model.text import Language


def _day(value: Any) -> str:
    try:
        return f"{date.fromisoformat(str(value)):%d/%m/%Y}"
    except ValueError:
        return str(value)


def _names(values: Any) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def _vietnamese(code: str, error: Mapping[str, Any], arguments: Mapping[str, Any]) -> str | None:
    query = error.get("query") or arguments.get("from_city") or arguments.get("city") or ""
    day = _day(error.get("date") or arguments.get("date") or "")
    if code == "unknown_place":
        suggestions = _names(error.get("suggestions"))
        text = f"Mình không tìm thấy địa điểm nào tên “{query}”."
        if suggestions:
            return f"{text} Có phải bạn muốn nói: {'; '.join(suggestions)}?"
        return f"{text} Bạn kiểm tra lại tên thành phố hoặc mã sân bay giúp mình nhé."
    if code == "ambiguous_place":
        candidates = _names(error.get("candidates") or error.get("suggestions"))
        return f"“{query}” có thể là nhiều nơi: {'; '.join(candidates)}. Bạn muốn nói nơi nào?"
    if code == "date_in_past":
        today = f" (hôm nay là {_day(error['today'])})" if error.get("today") else ""
        return f"Ngày {day} đã qua{today}. Bạn chọn từ hôm nay trở đi nhé."
    if code == "date_beyond_horizon":
        ahead = error.get("max_days_ahead")
        limit = f" trong vòng {ahead} ngày tới" if ahead else " trong thời gian gần"
        return f"Ngày {day} còn xa quá: vé chỉ mới mở bán{limit}."
    if code == "invalid_date":
        return "Mình không đọc được ngày đó. Bạn ghi ngày theo dạng 15/6 hoặc 2026-06-15 nhé."
    if code == "same_origin_destination":
        return "Điểm đi và điểm đến đang trùng nhau. Bạn chọn hai nơi khác nhau nhé."
    if code == "invalid_passengers":
        return "Mỗi lần tìm được cho 1 đến 9 hành khách."
    if code == "unknown_cabin":
        return "Hiện chỉ có hạng phổ thông và hạng thương gia."
    if code == "unknown_airline":
        airline = error.get("airline") or arguments.get("airline") or ""
        return f"Mình không nhận ra hãng bay “{airline}”."
    if code == "tool_timeout":
        return "Hệ thống tra cứu đang phản hồi chậm. Bạn thử lại sau ít phút nhé."
    if code in ("tool_failed", "database_unavailable", "service_unavailable"):
        return "Đã có lỗi khi tra cứu. Bạn thử lại sau ít phút nhé."
    return None


_ACTIONS = {
    "hold_booking": ("giữ chỗ", "hold the seats"),
    "confirm_booking": ("xác nhận đặt chỗ", "confirm the booking"),
    "cancel_booking": ("hủy đặt chỗ", "cancel the booking"),
    "get_booking": ("tra cứu đặt chỗ", "look up the booking"),
}
_STATUS_VI = {
    "held": "đang giữ chỗ",
    "confirmed": "đã xác nhận",
    "cancelled": "đã hủy",
    "expired": "đã hết hạn",
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


def _booking(
    code: str, error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str, vi: bool
) -> str | None:
    """The sentence for an error of a booking tool, or None for codes it does not know."""
    reference = str(error.get("reference") or arguments.get("reference") or "").upper()
    action_vi, action_en = _ACTIONS.get(tool, ("thực hiện yêu cầu", "do that"))
    message = str(error.get("message") or "").strip()
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
        cabin = str(error.get("cabin") or arguments.get("cabin") or "economy")
        cabin_vi = "thương gia" if cabin == "business" else "phổ thông"
        left = int(error.get("seats_left") or 0)
        wanted = len(arguments.get("passengers") or []) or 1
        if left > 0:
            return (
                f"Chuyến này chỉ còn {left} chỗ hạng {cabin_vi}, không đủ cho {wanted} khách. "
                "Bạn chọn chuyến khác hoặc bớt số khách nhé."
                if vi
                else f"Only {left} {cabin} seat{'s' if left > 1 else ''} left on this flight, "
                f"not enough for {wanted} passengers. Pick another flight or fewer passengers."
            )
        return (
            f"Chuyến này đã hết chỗ hạng {cabin_vi}. Bạn chọn chuyến khác nhé."
            if vi
            else f"This flight is sold out in {cabin}. Please pick another flight."
        )
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
        who = f" (hành khách số {which})" if which else ""
        return (
            f"Thông tin hành khách chưa hợp lệ{who}. Bạn gửi lại họ tên đầy đủ như trên giấy tờ "
            "(ít nhất hai chữ, chỉ gồm chữ cái) và ngày sinh nếu có nhé."
            if vi
            else f"The passenger details weren't accepted: {message} "
            "Please send each full name as on the ID."
        ).strip()
    if code == "invalid_contact":
        return (
            "Số điện thoại hoặc email chưa hợp lệ. Bạn gửi lại số di động "
            "(ví dụ 0901234567) hoặc email nhé."
            if vi
            else f"The contact details weren't accepted: {message} "
            "Please send a mobile number or an email."
        ).strip()
    if code in ("booking_not_found", "invalid_reference"):
        if code == "invalid_reference":
            return (
                f"“{reference}” không phải mã đặt chỗ hợp lệ: mã gồm 6 ký tự chữ và số "
                "(ví dụ K7QX3M). Bạn kiểm tra lại nhé."
                if vi
                else f"“{reference}” isn't a valid booking reference: references are 6 letters "
                "and digits, e.g. K7QX3M. Please check it."
            )
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
        status = str(error.get("status") or "")
        confirming = code == "booking_not_confirmable"
        verb_vi, verb_en = ("xác nhận", "confirmed") if confirming else ("hủy", "cancelled")
        state = _STATUS_VI.get(status)
        if not state:
            # Without a status the server refused because the flight has already left.
            return (
                f"Chuyến bay của đặt chỗ {reference} đã cất cánh nên không {verb_vi} được nữa."
                if vi
                else f"The flight of booking {reference} has already left, so it can't be "
                f"{verb_en}."
            )
        return (
            f"Đặt chỗ {reference} đang ở trạng thái “{state}” nên không {verb_vi} được."
            if vi
            else f"Booking {reference} is {status}, so it can't be {verb_en}."
        )
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
    """One or two sentences saying what went wrong and what to try, with place suggestions.

    Args:
        error: the tool result's ``error`` object.
        arguments: the arguments of the call that failed.
        language: the language to answer in.
        tool: the name of the tool that failed, when known.
    """
    if not isinstance(error, Mapping):
        error = {"code": "tool_failed", "message": str(error)}
    code = str(error.get("code") or "tool_failed")
    message = str(error.get("message") or "").strip()
    if tool in _ACTIONS or code in _BOOKING_CODES:
        sentence = _booking(code, error, arguments, tool, language == "vi")
        if sentence is not None:
            return sentence
    if language == "vi":
        translated = _vietnamese(code, error, arguments)
        if translated is not None:
            return translated
        return (
            f"Mình chưa thực hiện được yêu cầu này: {message}"
            if message
            else ("Mình chưa thực hiện được yêu cầu này. Bạn thử lại nhé.")
        )
    offers = _names(error.get("candidates") or error.get("suggestions"))
    if offers and not any(offer in message for offer in offers):
        message = f"{message} Did you mean: {'; '.join(offers)}?".strip()
    return message or "Something went wrong with that lookup. Please try again."
