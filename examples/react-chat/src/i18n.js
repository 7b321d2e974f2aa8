/** The page's words in both languages, and one formatter per language for money, days and
 * times (the server words its own answers; these are only the page's labels). */
const MESSAGES = {
  vi: {
    title: 'Đặt vé máy bay',
    message: 'Tin nhắn',
    placeholder: 'Ví dụ: vé Hà Nội đi Đà Nẵng thứ Sáu tuần sau',
    send: 'Gửi',
    stop: 'Dừng',
    newChat: 'Cuộc trò chuyện mới',
    key: 'Khóa API',
    keyHint: 'Máy chủ cần khóa API. Khóa chỉ lưu trong thẻ này.',
    save: 'Lưu',
    loading: 'Đang tải cuộc trò chuyện…',
    you: 'Bạn',
    assistant: 'Trợ lý',
    thinking: 'Đang trả lời…',
    searching: 'Đang tìm chuyến bay…',
    weathering: 'Đang xem thời tiết…',
    working: 'Đang xử lý…',
    flights: (n) => `${n} chuyến bay`,
    shown: (n, total) => `Hiện ${n} trên ${total} chuyến`,
    noFlights: 'Không có chuyến bay phù hợp.',
    airline: 'Hãng', flight: 'Chuyến', time: 'Giờ bay', price: 'Giá', seats: 'Chỗ trống',
    weather: (city) => `Thời tiết ${city}`,
    rain: (p) => `Khả năng mưa ${p}%`,
    approveTitle: { book: 'Đặt vé này?', hold: 'Giữ chỗ chuyến này?', confirm: 'Xác nhận đặt chỗ?', cancel: 'Hủy đặt chỗ?', other: 'Cho phép thao tác này?' },
    approve: 'Đồng ý', decline: 'Từ chối', declined: 'Bạn đã từ chối.', approved: 'Đã đồng ý, đang thực hiện…',
    passengers: 'Hành khách', total: 'Tổng cộng', reference: 'Mã đặt chỗ',
    status: { held: 'Đang giữ chỗ', confirmed: 'Đã xác nhận', cancelled: 'Đã hủy', expired: 'Hết hạn giữ chỗ' },
    holdUntil: (t) => `Giữ chỗ đến ${t}`,
    details: 'Chi tiết cho nhà phát triển',
    error: 'Có lỗi xảy ra',
    dismiss: 'Đóng',
    toolFailed: 'Công cụ gặp lỗi',
    lang: 'English',
  },
  en: {
    title: 'Flight booking',
    message: 'Message',
    placeholder: 'e.g. flights from Hanoi to Da Nang next Friday',
    send: 'Send',
    stop: 'Stop',
    newChat: 'New conversation',
    key: 'API key',
    keyHint: 'The server needs an API key. It is kept in this tab only.',
    save: 'Save',
    loading: 'Loading the conversation…',
    you: 'You',
    assistant: 'Assistant',
    thinking: 'Answering…',
    searching: 'Searching flights…',
    weathering: 'Checking the weather…',
    working: 'Working…',
    flights: (n) => `${n} flight${n === 1 ? '' : 's'}`,
    shown: (n, total) => `Showing ${n} of ${total} flights`,
    noFlights: 'No matching flights.',
    airline: 'Airline', flight: 'Flight', time: 'Time', price: 'Price', seats: 'Seats left',
    weather: (city) => `Weather in ${city}`,
    rain: (p) => `${p}% chance of rain`,
    approveTitle: { book: 'Book this flight?', hold: 'Hold this flight?', confirm: 'Confirm this booking?', cancel: 'Cancel this booking?', other: 'Allow this action?' },
    approve: 'Approve', decline: 'Decline', declined: 'You declined.', approved: 'Approved, working on it…',
    passengers: 'Passengers', total: 'Total', reference: 'Booking reference',
    status: { held: 'On hold', confirmed: 'Confirmed', cancelled: 'Cancelled', expired: 'Hold expired' },
    holdUntil: (t) => `Held until ${t}`,
    details: 'Developer details',
    error: 'Something went wrong',
    dismiss: 'Dismiss',
    toolFailed: 'The tool failed',
    lang: 'Tiếng Việt',
  },
};

const LOCALES = { vi: 'vi-VN', en: 'en-GB' };

export function messages(lang) {
  return MESSAGES[lang] ?? MESSAGES.vi;
}

export function formatters(lang) {
  const locale = LOCALES[lang] ?? LOCALES.vi;
  const money = new Intl.NumberFormat(locale, { style: 'currency', currency: 'VND', maximumFractionDigits: 0 });
  const dayFormat = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'numeric' });
  return {
    /** Money in đồng: vi "1.008.000 ₫", en "₫1,008,000". */
    vnd: (n) => money.format(Math.round(Number(n) || 0)),
    /** ISO times carry the airport's offset: the wall clock is read from the string itself. */
    hhmm: (iso) => (typeof iso === 'string' ? iso.slice(11, 16) : ''),
    day: (iso) => {
      const m = typeof iso === 'string' && /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
      return m ? dayFormat.format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]))) : '';
    },
    duration: (min) => `${Math.floor(min / 60)}h${String(min % 60).padStart(2, '0')}`,
  };
}
