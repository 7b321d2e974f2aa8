"""One formatter and one catalogue per language (booking.i18n), the weather's one description,
and the server's language detector measured against the offline model's."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from booking.domain.approval_text import approval_summary
from booking.domain.weather import shown_condition
from booking.domain.wording import format_conversion, format_day, format_vnd
from booking.i18n import catalogue, format as i18n, message
from booking.i18n.language import conversation_language, evidence
from booking.offline_model.message_language import detect_language

NBSP = "\u00a0"
CORPORA = Path(__file__).resolve().parents[1] / "corpus" / "understanding"


class TestFormat:
    @pytest.mark.parametrize(
        ("amount", "language", "expected"),
        [
            (1_008_000, "vi", f"1.008.000{NBSP}₫"),
            (1_008_000, "en", "₫1,008,000"),
            (0, "vi", f"0{NBSP}₫"),
            (12_500_000, "en", "₫12,500,000"),
        ],
    )
    def test_money_is_cldr_as_the_page_intl_writes_it(
        self, amount: int, language: i18n.Language, expected: str
    ) -> None:
        assert i18n.money(amount, language) == expected
        assert format_vnd(amount, language) == expected

    def test_other_currencies(self) -> None:
        assert i18n.money(50, "vi", "usd") == f"50,00{NBSP}US$"
        assert i18n.money(50, "en", "USD") == "$50.00"
        assert format_conversion(50, "USD", 1_300_000, "en") == (
            "$50.00 ≈ ₫1,300,000 at ₫26,000 per USD"
        )

    def test_numbers_and_counts(self) -> None:
        assert i18n.number(1_300_000, "vi") == "1.300.000"
        assert i18n.number(12.5, "vi") == "12,5"
        assert i18n.number(12.5, "en") == "12.5"
        assert i18n.count(2, "seat", "en") == "2 seats"
        assert i18n.count(1, "seat", "en") == "1 seat"
        assert i18n.count(1200, "chỗ", "vi") == "1.200 chỗ"

    def test_days_and_times(self) -> None:
        monday = date(2026, 6, 15)
        assert i18n.day(monday, "vi") == "Thứ Hai, 15/6"
        assert i18n.day(monday, "en") == "Mon 15 Jun"
        assert i18n.day(monday, "vi", year=True) == "Thứ Hai, 15/6/2026"
        assert format_day(monday, "en") == "Mon 15 Jun 2026"
        assert i18n.clock(time(7, 30), "en") == "07:30"
        assert i18n.clock(datetime(2026, 6, 15, 19, 5, tzinfo=UTC), "vi") == "19:05"

    def test_a_date_of_birth_has_no_weekday(self) -> None:
        born = date(1990, 3, 12)
        assert i18n.calendar_date(born, "vi") == "12/3/1990"
        assert i18n.calendar_date(born, "en") == "12 Mar 1990"

    def test_whole_rounds_half_up_like_math_round(self) -> None:
        assert [i18n.whole(v) for v in (24.5, 25.5, 14.49, 0.5)] == [25, 26, 14, 1]

    def test_language_tags(self) -> None:
        assert i18n.language_of("en-GB") == "en"
        assert i18n.language_of("vi_VN") == "vi"
        assert i18n.language_of("fr") == "vi"


class TestCatalogue:
    def test_both_languages_have_the_same_keys(self) -> None:
        assert set(catalogue("vi")) == set(catalogue("en"))

    def test_placeholders_agree_between_languages(self) -> None:
        import string

        def names(text: str) -> set[str]:
            return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}

        for key, text in catalogue("vi").items():
            assert names(text) == names(catalogue("en")[key]), key

    def test_files_are_valid_utf8_json(self) -> None:
        folder = Path(__file__).resolve().parents[2] / "booking" / "i18n" / "messages"
        for name in ("vi.json", "en.json"):
            assert isinstance(json.loads((folder / name).read_text("utf-8")), dict)

    def test_message_fills_named_placeholders(self) -> None:
        assert message("answer.flights.count", "vi", total=12) == "Có 12 chuyến phù hợp."
        assert message("answer.flights.count", "en", total=12) == "12 flights match."


class TestWeatherCondition:
    def test_a_dry_sky_with_rain_likely_is_not_sunny(self) -> None:
        assert shown_condition("sunny", 64) == "showers"
        assert shown_condition("partly_cloudy", 50) == "showers"
        assert shown_condition("sunny", 49) == "sunny"

    def test_rain_with_rain_unlikely_is_cloudy(self) -> None:
        assert shown_condition("heavy_rain", 10) == "cloudy"
        assert shown_condition("light_rain", 20) == "light_rain"

    def test_every_condition_has_words_in_both_languages(self) -> None:
        codes = json.loads(
            (
                Path(__file__).resolve().parents[2] / "booking/reference/data/conditions.json"
            ).read_text("utf-8")
        )
        for row in codes:
            assert message(f"weather.condition.{row['code']}", "vi") == row["text_vi"]
            assert message(f"weather.condition.{row['code']}", "en") == row["text_en"]


class TestLanguage:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Đặt vé SGN → HAN ngày 15/6", "vi"),
            ("dat ve di ha noi ngay mai", "vi"),
            ("book for Nguyễn Văn An please", "en"),
            ("flights from Hanoi to Bangkok June 15", "en"),
            ("Hà Nội 15/6", "vi"),
            ("HAN SGN 15/6", None),
        ],
    )
    def test_evidence(self, text: str, expected: str | None) -> None:
        assert evidence(text) == expected

    def test_the_latest_user_message_that_shows_a_language_wins(self) -> None:
        messages = [
            {"role": "user", "content": "find me a flight to Da Nang"},
            {"role": "assistant", "content": "Sure."},
            {"role": "user", "content": "Nguyen Van An, 0901234567"},
        ]
        assert conversation_language(messages) == "en"
        messages.append({"role": "user", "content": "giữ chỗ giúp mình"})
        assert conversation_language(messages) == "vi"
        assert conversation_language([]) == "vi"

    def test_agrees_with_the_offline_model_on_the_corpora(self) -> None:
        """Measured: 97 % of the 2,039 corpus messages; most others are mixed-language."""
        total = agreed = 0
        for path in sorted(CORPORA.glob("*.jsonl")):
            for line in path.read_text("utf-8").splitlines():
                for turn in json.loads(line)["turns"]:
                    total += 1
                    agreed += (evidence(turn["user"]) or "en") == detect_language(turn["user"])
        assert total > 1000
        assert agreed / total >= 0.96


class TestApprovalSummary:
    PREVIEW: ClassVar[dict[str, Any]] = {
        "action": "hold",
        "flight": {
            "flight_number": "VJ127",
            "airline_name": "VietJet Air",
            "origin": "SGN",
            "destination": "HAN",
            "departs_at": "2026-06-15T06:40:00+07:00",
        },
        "cabin": "economy",
        "passengers": [{"full_name": "Nguyễn Văn An"}],
        "total_vnd": 1_008_000,
    }

    def test_each_language_has_its_own_words_and_money(self) -> None:
        vi = approval_summary(self.PREVIEW, "vi")
        en = approval_summary(self.PREVIEW, "en")
        assert f"1.008.000{NBSP}₫" in vi
        assert "Thứ Hai, 15/6/2026" in vi
        assert not {"Hold", "passenger"} & set(vi.replace(",", " ").split())
        assert "₫1,008,000" in en
        assert "Mon 15 Jun 2026" in en
        assert "(s)" not in en
