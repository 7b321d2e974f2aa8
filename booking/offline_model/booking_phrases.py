"""The questions and short answers of booking requests, in Vietnamese or English. Pure.

Which flight to hold, the names and contact details a hold still lacks, a booking reference,
and the answers for when there is nothing to book, nothing held, or the request is dropped.
What a booking tool's result says is in :mod:`receipts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booking.domain.wording import clock, count, format_day, format_vnd, parse_moment
from booking.offline_model import phrases
from booking.offline_model.booking_intent import Draft
from booking.offline_model.selection import Choice, Picked
from booking.offline_model.text import Language


def flight_brief(flight: Mapping[str, Any], language: Language) -> str:
    """ "**VJ101** VietJet Air, 08:15 thứ Ba, 15/12/2026, SGN → HAN"."""
    number = f"**{flight.get('flight_number', '?')}**"
    airline = flight.get("airline_name") or flight.get("airline_code") or ""
    moment = parse_moment(flight.get("departs_at"))
    when = clock(flight.get("departs_at"))
    if moment is not None:
        day = format_day(moment.date(), language)
        when = f"{when} {day}" if language == "vi" else f"{when} on {day}"
    route = f"{flight.get('origin', '?')} → {flight.get('destination', '?')}"
    return ", ".join(part for part in (f"{number} {airline}".strip(), when, route) if part)


def _option(position: int, flight: Mapping[str, Any], language: Language) -> str:
    price = format_vnd(int(flight.get("price_vnd") or 0), language)
    return f"{position}. **{flight.get('flight_number', '?')}** {clock(flight.get('departs_at'))} · {price}"


def which_flight(problem: str | None, shown: list[Mapping[str, Any]], language: Language) -> str:
    lines = [problem] if problem else []
    if language == "vi":
        lines.append("Bạn muốn đặt chuyến nào?" + (" Các chuyến vừa tìm:" if shown else ""))
    else:
        lines.append(
            "Which flight would you like to book?" + (" The ones I found:" if shown else "")
        )
    lines += [_option(i, f, language) for i, f in enumerate(shown, start=1)]
    lines.append(
        "Bạn trả lời bằng số hiệu chuyến, “rẻ nhất” hoặc “chuyến thứ 2” nhé."
        if language == "vi"
        else "Answer with the flight number, “the cheapest” or “the second one”."
    )
    return "\n".join(lines)


def problem(choice: Choice, picked: Picked, language: Language) -> str:
    vi = language == "vi"
    said = choice.said
    if picked.problem == "ambiguous":
        matches = len(picked.candidates)
        if vi:
            return f"Có {matches} chuyến khớp với “{said}”."
        verb = "matches" if matches == 1 else "match"
        return f"{count(matches, 'flight', language)} {verb} “{said}”."
    if picked.problem == "out_of_range":
        shown = len(picked.candidates)
        return (
            f"Danh sách vừa rồi chỉ có {shown} chuyến."
            if vi
            else f"The list I showed has only {count(shown, 'flight', language)}."
        )
    if choice.kind == "number":
        return (
            f"Mình không thấy chuyến {said} trong kết quả vừa tìm."
            if vi
            else f"I can't find {said} among the flights I just found."
        )
    if choice.kind == "time":
        return (
            f"Không có chuyến nào khởi hành lúc {said} trong kết quả vừa tìm."
            if vi
            else f"None of the flights I found leaves at {said}."
        )
    return (
        "Không có chuyến nào khớp yêu cầu trong kết quả vừa tìm."
        if vi
        else "None of the flights I found matches that."
    )


def _names_part(draft: Draft, missing: int, language: Language) -> str:
    if language == "vi":
        if draft.travellers:
            return f"họ tên đầy đủ của {missing} hành khách nữa"
        who = "hành khách" if draft.passengers == 1 else f"{draft.passengers} hành khách"
        return f"họ tên đầy đủ của {who} (như trên giấy tờ tùy thân)"
    if draft.travellers:
        names = "name" if missing == 1 else "names"
        return f"the full {names} of {count(missing, 'more passenger', language)}"
    if draft.passengers == 1:
        return "the passenger's full name (as on their ID)"
    return f"the full names of the {draft.passengers} passengers (as on their IDs)"


def ask_details(draft: Draft, names_missing: int, contact_missing: bool, language: Language) -> str:
    assert draft.flight is not None
    parts: list[str] = []
    if names_missing > 0:
        parts.append(_names_part(draft, names_missing, language))
    if contact_missing:
        parts.append(
            "số điện thoại hoặc email liên hệ"
            if language == "vi"
            else "a phone number or email for the booking"
        )
    brief = flight_brief(draft.flight, language)
    names = "; ".join(t.full_name for t in draft.travellers)
    if language == "vi":
        verb = "giữ chỗ" if draft.hold_only else "đặt vé"
        text = f"Để {verb} chuyến {brief}, bạn cho mình {' và '.join(parts)} nhé."
        return text + (f" Mình đã có: {names}." if names and names_missing > 0 else "")
    text = f"To {'hold' if draft.hold_only else 'book'} {brief}, please send {' and '.join(parts)}."
    return text + (f" So far: {names}." if names and names_missing > 0 else "")


def no_search(choice: Choice, language: Language) -> str:
    """There is no search to pick ``choice`` from: say so and ask for a route and a day."""
    if language == "vi":
        note = (
            f"Mình chưa tìm chuyến bay nào nên chưa biết chuyến {choice.said} là chuyến nào."
            if choice.kind == "number"
            else "Mình chưa tìm chuyến bay nào nên chưa có chuyến để chọn."
        )
    elif choice.kind == "number":
        note = f"I haven't searched any flights yet, so I can't tell which flight {choice.said} is."
    else:
        note = "I haven't searched any flights yet, so there is nothing to pick from."
    missing = ("origin", "destination", "date")
    return f"{note} {phrases.ask_missing(missing, language)}"


def empty_search(language: Language) -> str:
    if language == "vi":
        return "Lần tìm vừa rồi không có chuyến nào để đặt. Bạn thử tìm ngày hoặc tuyến khác nhé."
    return "The last search found no flights to book. Try another day or route."


def ask_reference(purpose: str, language: Language) -> str:
    if language == "vi":
        if purpose == "cancel":
            return (
                "Bạn cho mình mã đặt chỗ cần hủy (6 ký tự, ví dụ K7QX3M) nhé. "
                "Còn đổi vé hay hoàn tiền thì mình chưa làm được, tính năng này sẽ sớm có."
            )
        return "Bạn cho mình mã đặt chỗ (6 ký tự, ví dụ K7QX3M) để mình tra cứu nhé."
    if purpose == "cancel":
        return (
            "Which booking should I cancel? Please send its 6-character reference (e.g. K7QX3M). "
            "Changes and refunds are not available yet; they are coming soon."
        )
    return "Please send the 6-character booking reference (e.g. K7QX3M) and I'll look it up."


def nothing_held(confirmed: str | None, language: Language) -> str:
    if confirmed is not None:
        return (
            f"Đặt chỗ **{confirmed}** đã được xác nhận rồi, không cần xác nhận lại."
            if language == "vi"
            else f"Booking **{confirmed}** is already confirmed; there is nothing more to confirm."
        )
    return (
        "Hiện không có đặt chỗ nào đang giữ để xác nhận. Bạn chọn chuyến muốn đặt trước nhé."
        if language == "vi"
        else "There is no held booking to confirm yet. Pick a flight to book first."
    )


def dropped(language: Language, tool: str = "hold_booking") -> str:
    if tool not in ("hold_booking", "book_flight"):
        return (
            "Được rồi, mình không làm nữa; đặt chỗ của bạn không có gì thay đổi."
            if language == "vi"
            else "All right, I'll leave it; nothing changed on your booking."
        )
    return (
        "Được rồi, mình bỏ yêu cầu đặt chỗ này; chưa có gì được đặt cả."
        if language == "vi"
        else "All right, I've dropped that booking request; nothing was booked."
    )
