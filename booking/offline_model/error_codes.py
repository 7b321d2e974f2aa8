"""Data table: the explainer of each error code the service, tools and turn runner return.

Codes whose sentence depends on the details have their own explainer (:mod:`error_explainers`);
the others have a fixed sentence in each language.
"""

from __future__ import annotations

from booking.offline_model.error_explainers import (
    Explainer,
    ambiguous_place,
    date_beyond_horizon,
    date_in_past,
    fare_changed,
    fixed,
    invalid_arguments,
    invalid_date,
    not_found,
    place_error,
    same_place,
    unknown_airline,
    unknown_place,
    validation_failed,
)

_FAILED = fixed(
    "Đã có lỗi khi tra cứu. Bạn thử lại sau ít phút nhé.",
    "Something went wrong on our side. Please try again in a few minutes.",
)
_TECHNICAL = fixed(
    "Có trục trặc kỹ thuật nên yêu cầu chưa được thực hiện; không có gì thay đổi. Bạn thử lại nhé.",
    "A technical problem stopped that request; nothing changed. Please try again.",
)
_RESTARTING = fixed(
    "Hệ thống đang khởi động lại. Bạn thử lại sau ít phút nhé.",
    "The service is restarting. Please try again in a minute.",
)

#: One explainer per code the service, the tools and the turn runner can return.
EXPLAINERS: dict[str, Explainer] = {
    "unknown_place": unknown_place,
    "ambiguous_place": ambiguous_place,
    "place_error": place_error,
    "date_in_past": date_in_past,
    "date_beyond_horizon": date_beyond_horizon,
    "invalid_date": invalid_date,
    "validation_failed": validation_failed,
    "unknown_airline": unknown_airline,
    "not_found": not_found,
    "invalid_arguments": invalid_arguments,
    "fare_changed": fare_changed,
    "same_place": same_place,
    "same_origin_destination": fixed(
        "Điểm đi và điểm đến đang trùng nhau. Bạn chọn hai nơi khác nhau nhé.",
        "You're flying from and to the same place. Please pick two different places.",
    ),
    "invalid_passengers": fixed(
        "Mỗi lần tìm được cho 1 đến 9 hành khách.",
        "I can search for 1 to 9 passengers at a time.",
    ),
    "unknown_cabin": fixed(
        "Hiện chỉ có hạng phổ thông và hạng thương gia.",
        "There are two cabins: economy and business.",
    ),
    "invalid_sort": fixed(
        "Mình chỉ sắp xếp được theo giá, giờ khởi hành hoặc thời gian bay.",
        "I can sort flights by price, departure time or flight time.",
    ),
    "invalid_contact": fixed(
        "Số điện thoại hoặc email chưa hợp lệ. Bạn gửi lại số di động "
        "(ví dụ 0901234567) hoặc email nhé.",
        "That phone number or email wasn't accepted. Please send a mobile number or an email.",
    ),
    "invalid_reference": fixed(
        "Mã đặt chỗ gồm 6 ký tự chữ và số (ví dụ K7QX3M). Bạn kiểm tra lại nhé.",
        "A booking reference is 6 letters and digits, e.g. K7QX3M. Please check it.",
    ),
    "flight_not_found": fixed(
        "Mình không tìm thấy chuyến bay này nữa. Bạn tìm lại chuyến bay nhé.",
        "That flight is no longer in the schedule. Please search again.",
    ),
    "booking_not_found": fixed(
        "Mình không tìm thấy đặt chỗ này. Bạn kiểm tra lại mã (6 ký tự) nhé.",
        "I couldn't find that booking. Please check the 6-character reference.",
    ),
    "approval_not_found": fixed(
        "Yêu cầu đồng ý này không còn nữa nên mình chưa làm gì. Bạn nhắn lại nếu vẫn muốn làm nhé.",
        "That approval request no longer exists, so nothing was done. "
        "Ask again if you still want it.",
    ),
    "approval_decided": fixed(
        "Yêu cầu này đã được trả lời rồi, không cần trả lời lại.",
        "That request has already been answered.",
    ),
    "approval_mismatch": fixed(
        "Thông tin cần đồng ý không khớp với yêu cầu ban đầu nên mình chưa làm gì. "
        "Bạn xem lại rồi đồng ý lần nữa nhé.",
        "What was approved doesn't match the request, so nothing was done. "
        "Please review it and approve again.",
    ),
    "conflict": fixed(
        "Yêu cầu này chưa thực hiện được vì dữ liệu vừa thay đổi. Bạn thử lại nhé.",
        "That couldn't be done because something just changed. Please try again.",
    ),
    "sold_out": fixed(
        "Chuyến này đã hết chỗ. Bạn chọn chuyến khác nhé.",
        "This flight is sold out. Please pick another one.",
    ),
    "booking_closed": fixed(
        "Chuyến này không còn nhận đặt chỗ. Bạn chọn chuyến muộn hơn nhé.",
        "Booking is closed for this flight. Please pick a later one.",
    ),
    "hold_expired": fixed(
        "Thời gian giữ chỗ đã hết nên chỗ đã được trả lại. Bạn chọn lại chuyến nhé.",
        "The hold has expired and its seats were released. Pick the flight again.",
    ),
    "booking_not_confirmable": fixed(
        "Đặt chỗ này không xác nhận được nữa.",
        "This booking can't be confirmed any more.",
    ),
    "booking_not_cancellable": fixed(
        "Đặt chỗ này không hủy được nữa.",
        "This booking can't be cancelled any more.",
    ),
    "approval_denied": fixed(
        "Bạn đã không đồng ý nên mình chưa làm gì cả.",
        "You declined, so nothing was done.",
    ),
    "approval_required": fixed(
        "Việc này cần bạn đồng ý trước nên mình chưa làm gì cả.",
        "This needs your approval first, so nothing was done.",
    ),
    "approval_expired": fixed(
        "Yêu cầu bạn đồng ý đã hết hạn nên mình chưa làm gì. Bạn nhắn lại nếu vẫn muốn làm nhé.",
        "The approval request timed out, so nothing was done. Ask again if you still want it.",
    ),
    "idempotency_key_reused": fixed(
        "Yêu cầu này trùng với một yêu cầu trước đó nên mình chưa thực hiện. Bạn thử lại nhé.",
        "This request clashed with an earlier one, so nothing was done. Please try again.",
    ),
    "idempotency_key_required": _TECHNICAL,
    "origin_not_allowed": _TECHNICAL,
    "not_run": fixed(
        "Yêu cầu tra cứu bị gián đoạn nên chưa được thực hiện. Bạn thử lại nhé.",
        "The lookup was interrupted and didn't run. Please try again.",
    ),
    "tool_timeout": fixed(
        "Hệ thống tra cứu đang phản hồi chậm. Bạn thử lại sau ít phút nhé.",
        "The lookup is taking too long right now. Please try again in a few minutes.",
    ),
    "unknown_tool": fixed(
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
    "upstream_incomplete": fixed(
        "Câu trả lời bị ngắt giữa chừng nên chưa có gì được thực hiện. Bạn thử lại nhé.",
        "The answer was cut off midway, so nothing was done. Please try again.",
    ),
    "output_tokens_exhausted": fixed(
        "Câu trả lời quá dài nên bị cắt ngang; chưa có gì được thực hiện. Bạn hỏi ngắn gọn hơn nhé.",
        "The answer ran too long and was cut off; nothing was done. Please ask more briefly.",
    ),
    "content_filtered": fixed(
        "Câu trả lời đã bị bộ lọc nội dung chặn. Bạn diễn đạt lại giúp mình nhé.",
        "The answer was stopped by a content filter. Could you rephrase?",
    ),
    "upstream_timeout": fixed(
        "Hệ thống đang phản hồi chậm. Bạn thử lại sau ít phút nhé.",
        "We're slow to respond right now. Please try again in a few minutes.",
    ),
    "upstream_rate_limited": fixed(
        "Hệ thống đang quá tải. Bạn thử lại sau ít phút nhé.",
        "We're overloaded right now. Please try again in a few minutes.",
    ),
    "model_config_invalid": _TECHNICAL,
    "unauthorized": fixed(
        "Bạn cần khóa API hợp lệ để dùng dịch vụ này.",
        "You need a valid API key for this.",
    ),
    "rate_limited": fixed(
        "Bạn gửi hơi nhanh; đợi một chút rồi thử lại nhé.",
        "That's a lot of requests at once; please wait a moment and try again.",
    ),
    "turn_running": fixed(
        "Mình vẫn đang trả lời tin nhắn trước; bạn đợi một chút nhé.",
        "I'm still answering your previous message; please wait a moment.",
    ),
    "conversation_exists": fixed(
        "Cuộc trò chuyện này đã có rồi.",
        "This conversation already exists.",
    ),
    "server_busy": fixed(
        "Hệ thống đang bận. Bạn thử lại sau ít phút nhé.",
        "We're busy right now. Please try again in a few minutes.",
    ),
    "shutting_down": _RESTARTING,
    "server_restarting": _RESTARTING,
    "message_too_long": fixed(
        "Tin nhắn dài quá; bạn viết ngắn lại giúp mình nhé.",
        "That message is too long; please shorten it.",
    ),
}

#: Every code with its own sentence (a test checks it covers :mod:`booking.errors`).
KNOWN_CODES = frozenset(EXPLAINERS)
