"""Errors of the booking tools explained: what did not happen, and what to do next.

What matters to the traveller there is what did not happen ("approval_denied": nothing was
booked; a declined confirmation leaves the booking held). A code is explained this way when a
booking tool returned it, or when only booking tools return it (:data:`BOOKING_CODES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booking.domain.wording import count

#: What each booking tool does, in the words of a sentence about it ("hold the seats").
ACTIONS = {
    "book_flight": ("đặt vé", "book the flight"),
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
BOOKING_CODES = frozenset(
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


def explain_booking_error(
    code: str, error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str, vi: bool
) -> str | None:
    """The sentence for an error of a booking tool, or None for codes it does not know."""
    reference = str(error.get("reference") or arguments.get("reference") or "").upper()
    action_vi, action_en = ACTIONS.get(tool, ("thực hiện yêu cầu", "do that"))
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
