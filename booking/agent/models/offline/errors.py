"""Tool errors explained to the user: Vietnamese sentences for the common codes, else the message.

Tool errors arrive as ``{"error": {"code": ..., "message": ..., **details}}``. The English
``message`` is already written for people, so English answers use it as it is (adding place
suggestions it lacks); Vietnamese answers translate the codes they know and fall back on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from booking.agent.models.offline.text import Language


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


def explain_error(error: Any, arguments: Mapping[str, Any], language: Language) -> str:
    """One or two sentences saying what went wrong and what to try, with place suggestions."""
    if not isinstance(error, Mapping):
        error = {"code": "tool_failed", "message": str(error)}
    code = str(error.get("code") or "tool_failed")
    message = str(error.get("message") or "").strip()
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
