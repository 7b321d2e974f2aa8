"""Data table: the words the offline model knows, in Vietnamese (with and without
diacritics) and English.

Word lists are written folded (lower-case ASCII, no diacritics, ``đ`` -> ``d``), the form
:func:`booking.domain.places.fold` gives, because people type Vietnamese both ways. Where the
folded form of a word collides with another word (``tôi`` "I" and ``tới`` "to" both fold to
``toi``), the accented spellings that keep the meaning are listed next to it.

Places and airlines come from the project's data files, indexed by :mod:`reference_index`.
"""

from __future__ import annotations

#: Number words from one to ten. Several Vietnamese ones are ordinary words too ("bay" is "fly",
#: "sau" is "after"), so callers only read them next to a unit ("hai người", "ba ngày").
NUMBER_WORDS: dict[str, int] = {
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "nam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
    "muoi": 10,
    "one": 1,
    "a": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

#: Weekday numbers (Monday = 0) after "thứ": both the word and the digit forms ("thứ Sáu", "thứ 6").
VI_WEEKDAYS: dict[str, int] = {
    "hai": 0,
    "2": 0,
    "ba": 1,
    "3": 1,
    "tu": 2,
    "4": 2,
    "nam": 3,
    "5": 3,
    "sau": 4,
    "6": 4,
    "bay": 5,
    "7": 5,
}

EN_WEEKDAYS: dict[str, int] = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}

EN_MONTHS: dict[str, int] = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

#: Cabin phrases, longest first so "hạng thương gia" wins over "thương gia".
CABINS: dict[str, str] = {
    "hang business": "business",
    "ve business": "business",
    "first class": "business",
    "bussiness": "business",
    "busines": "business",
    "eco": "economy",
    "hang thuong gia": "business",
    "ghe thuong gia": "business",
    "thuong gia": "business",
    "business class": "business",
    "business": "business",
    "hang pho thong": "economy",
    "ghe pho thong": "economy",
    "pho thong": "economy",
    "economy class": "economy",
    "economy": "economy",
}

#: Sort phrases. "price" is the tool's default, so saying "cheapest" only clears another sort.
SORTS: dict[str, str] = {
    "som nhat": "departure",
    "chuyen dau tien": "departure",
    "earliest": "departure",
    "first flight": "departure",
    "nhanh nhat": "duration",
    "ngan nhat": "duration",
    "it thoi gian nhat": "duration",
    "shortest": "duration",
    "fastest": "duration",
    "quickest": "duration",
    "re nhat": "price",
    "gia re nhat": "price",
    "cheapest": "price",
    "lowest price": "price",
}

#: Named parts of the day as (depart_after, depart_before); None leaves that end open. One
#: convention, stated in docs/offline-model.md ("Time windows").
TIME_WINDOWS: dict[str, tuple[str | None, str | None]] = {
    "early": (None, "08:00"),
    "morning": ("05:00", "12:00"),
    "noon": ("11:00", "13:00"),
    "afternoon": ("12:00", "18:00"),
    "evening": ("18:00", "23:59"),
    "night": ("21:00", None),
}

#: Airline names and codes people type, folded. Codes typed in lower case only count when they
#: are not ordinary words ("vj", "vna", "qh"); the rest must be written in upper case.
AIRLINE_WORDS: dict[str, str] = {
    "vietjet": "VJ",
    "vietjet air": "VJ",
    "viet jet": "VJ",
    "vj": "VJ",
    "vietnam airlines": "VN",
    "vietnam airline": "VN",
    "vna": "VN",
    "bamboo": "QH",
    "bamboo airways": "QH",
    "qh": "QH",
    "vietravel": "VU",
    "vietravel airlines": "VU",
    "pacific airlines": "BL",
    "vasco": "0V",
    "scoot": "TR",
    "airasia": "AK",
    "air asia": "AK",
    "asiana": "OZ",
    "jeju air": "7C",
    "cathay": "CX",
    "cathay pacific": "CX",
    "starlux": "JX",
    "garuda": "GA",
    "cebu pacific": "5J",
    "eva air": "BR",
}

#: Unaccented words that only Vietnamese uses (place names are removed before this check).
#: English look-alikes ("hang", "con", "a") are left out on purpose.
VI_WORDS: frozenset[str] = frozenset(
    {
        "ve",
        "ngay",
        "di",
        "den",
        "tu",
        "nguoi",
        "gia",
        "re",
        "chuyen",
        "muon",
        "khong",
        "nao",
        "thang",
        "tuan",
        "hom",
        "nay",
        "mai",
        "chao",
        "nhe",
        "thi",
        "sao",
        "duoi",
        "trieu",
        "nghin",
        "buoi",
        "chieu",
        "toi",
        "dat",
        "cho",
        "minh",
        "xem",
        "troi",
        "voi",
        "nhat",
        "nua",
        "vao",
        "khach",
        "tre",
        "duoc",
        "giup",
        "oi",
        "gi",
        "khu",
        "hoi",
        "bao",
        "nhieu",
        "xac",
        "nhan",
        "huy",
        "giu",
        "sdt",
        "dien",
        "thoai",
        "xuat",
        "hanh",
    }
)

#: Words both languages use ("ok", airline and cabin names): they leave the language as it was.
NEUTRAL_WORDS: frozenset[str] = frozenset(
    {"ok", "okay", "oke", "oki", "vip", "business", "economy", "class", "air", "airlines"}
    | {"vietjet", "bamboo", "vietravel", "vna", "vj", "qh", "vasco", "pacific", "airways"}
    | {"email", "mail", "gmail", "booking", "pnr", "code", "ref"}
)

#: Phrases that show Vietnamese even without the words above.
VI_PHRASES: tuple[str, ...] = (
    *("may bay", "thoi tiet", "xin chao", "cam on", "khu hoi", "dat cho", "dong y"),
)


#: Words that show what a message is about.
FLIGHT_WORDS: tuple[str, ...] = (
    *("chuyen bay", "may bay", "flight", "flights", "fly", "flying", "plane", "ticket"),
    *("tickets", "fare", "fares", "airfare", "dat ve", "tim ve", "san ve"),
)
WEATHER_WORDS: tuple[str, ...] = (
    *("thoi tiet", "nhiet do", "du bao", "weather", "forecast", "temperature", "rain"),
    *("raining", "rainy", "sunny", "humid", "umbrella", "mua khong", "how hot", "how cold"),
    *("is it hot", "is it cold", "is it warm", "cold in", "hot in", "typhoon", "storm"),
    *("storms", "windy", "snow", "snowing", "cloudy", "chilly", "degrees", "climate"),
    *("mua nhieu", "mua to", "mua lon", "co mua", "lanh khong", "nong khong", "ret khong"),
    *("nang khong", "mat khong", "am khong", "co tuyet", "tuyet khong", "bao khong"),
)
WEATHER_RAW: tuple[str, ...] = (
    *("trời", "troi", "dự báo", "bão", "sương mù", "nhiệt độ", "độ ẩm", "ấm không"),
)
#: Weather adjectives are a weather question only when asked ("có mưa không", "lạnh ko?"):
#: "bay ra Hà Nội coi lạnh" wants the cold, not a forecast.
WEATHER_ADJECTIVES_RAW: tuple[str, ...] = (
    *("mưa", "nắng", "nóng", "lạnh", "rét", "mát", "oi bức", "gió", "tuyết", "mưa to"),
)
#: What makes a sentence a question: Vietnamese particles (accents kept) and a question mark.
QUESTION_RAW: tuple[str, ...] = (
    *("không", "khong", "chưa", "sao", "nào", "thế nào", "ra sao", "bao nhiêu", "mấy độ"),
    *("hả", "ha", "nhỉ", "chứ", "có", "ko"),
)
UNSUPPORTED_WORDS: tuple[str, ...] = (
    *("khach san", "hotel", "hotels", "resort", "homestay", "joke", "jokes", "truyen cuoi"),
    *("hostel", "airbnb", "phong nghi", "dat phong", "book a room", "cho o", "nha nghi"),
    *("ho chieu", "passport", "visas", "thi thuc", "doi tien", "exchange rate", "ty gia"),
    *("currency exchange", "tour du lich", "tours", "sim card", "bao hiem", "insurance"),
    *("taxi", "thue xe", "car rental", "rent a car", "visa", "tour", "nha hang"),
    *("restaurant", "bai hat", "a song", "poem", "funny"),
)
#: Other ways to travel, which the service does not sell.
TRANSPORT_WORDS: tuple[str, ...] = (
    *("train", "trains", "railway", "tau hoa", "xe lua", "duong sat", "ve tau", "bus", "buses"),
    *("xe khach", "xe buyt", "xe bus", "limousine", "coach", "ferry", "tau cao toc", "cano"),
    *("grab", "uber", "xe om", "xe giuong nam", "sleeper bus", "cruise"),
)
#: "Chuyện cười" (a joke) folds like "chuyến cuối" (the last flight), so only its accents count.
UNSUPPORTED_RAW: tuple[str, ...] = ("chuyện cười", "truyện cười")
#: Changes and refunds, which the assistant cannot do (cancelling is in :mod:`booking_plans`).
MANAGE_WORDS: tuple[str, ...] = (
    *("hoan ve", "hoan tien", "doi ve", "doi chuyen", "doi ngay bay", "refund", "reschedule"),
    *("change my booking", "change my flight", "change the booking"),
)
GREETINGS: tuple[str, ...] = (
    *("xin chao", "chao", "chao ban", "hello", "hi", "hey", "alo", "good morning"),
    *("good afternoon", "good evening", "hola"),
)
THANKS_WORDS: tuple[str, ...] = ("cam on", "thank", "thanks", "thank you", "tks", "thx")
HELP_WORDS: tuple[str, ...] = (
    *("help", "what can you do", "lam duoc gi", "giup duoc gi", "huong dan", "ban la ai"),
    "who are you",
)
THERE_RAW: tuple[str, ...] = ("đó", "đấy")

#: Everyday words a typo matcher must never read as a misspelt place ("hanoi" is near "hano",
#: but "thang" is a month, not "Thanh Hóa").
COMMON_WORDS: frozenset[str] = frozenset(
    {
        w
        for phrase in (*FLIGHT_WORDS, *WEATHER_WORDS, *GREETINGS, *THANKS_WORDS)
        for w in phrase.split()
    }
    | VI_WORDS
    | {"thang", "tuan", "sang", "chieu", "trua", "khuya", "nguoi", "khach", "chuyen", "gium"}
    | {"please", "thanks", "flight", "ticket", "tickets", "cheap", "cheapest", "morning"}
    | {"evening", "afternoon", "tomorrow", "today", "weekend", "next", "this", "there", "where"}
    | {"book", "booking", "search", "find", "show", "want", "need", "would", "like", "from"}
    | {"with", "wife", "husband", "family", "friend", "friends", "adult", "adults", "child"}
    | {"children", "people", "passenger", "passengers", "business", "economy", "class"}
    | {"weather", "forecast", "rain", "sunny", "about", "what", "when", "which", "after"}
    | {"before", "under", "below", "around", "maybe", "thank", "hello", "again", "other"}
    | {"hanh", "thuong", "pho", "thong", "giup", "dum", "cho", "xem", "tim", "kiem", "mua"}
)


#: Aliases that fold to ordinary words: they only count when typed with the accents that mark
#: the place ("gia đình" is "family", "Gia Định" the old name of Saigon). An empty set blocks
#: the alias altogether ("sing" is an English verb long before it is Singapore).
GUARDED_ALIASES: dict[str, frozenset[str]] = {
    "vinh": frozenset({"vinh"}),
    "gia dinh": frozenset({"gia định"}),
    "ke cho": frozenset({"kẻ chợ"}),
    "co ong": frozenset({"cỏ ống"}),
    "con lon": frozenset({"côn lôn"}),
    "co do": frozenset({"cố đô"}),
    "hoi an": frozenset({"hội an", "hoi an"}),
    "thu do": frozenset({"thủ đô", "thu do"}),
    "ba na": frozenset({"bà nà", "ba na"}),
    "sing": frozenset(),
}

#: Words allowed between a direction word and the place ("đến thành phố Huế", "to the city of").
PLACE_FILLERS: frozenset[str] = frozenset(
    {"thanh", "pho", "tp", "san", "sb", "the", "city", "of", "que", "tinh", "dao"}
)
