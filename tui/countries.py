"""Which country an E.164 number belongs to (ISO 3166 alpha-2), through `phonenumbers`, fast.

The report (and its cohorts) asks this for every message without a provider-given region; at
100,000 messages a full parse each would dominate, so answers are cached per number prefix.
"""

from __future__ import annotations

import phonenumbers


class CountryLookup:
    """ISO 3166 alpha-2 country of an E.164 number, via phonenumbers, cached per number prefix.

    The key is the country calling code plus the first six national digits: enough to tell apart
    every region sharing a calling code (NANP area codes, +44 Crown dependencies, +7 Kazakhstan,
    +39 Vatican...). A prefix is only cached once a number under it was placed.
    """

    PREFIX_DIGITS = 6

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def country(self, number: object) -> str | None:
        if not isinstance(number, str) or not number.startswith("+") or len(number) > 32:
            return None
        digits = "".join(ch for ch in number if ch.isdigit())
        key = _prefix_key(digits, self.PREFIX_DIGITS)
        if key is not None and key in self._cache:
            return self._cache[key]
        try:
            parsed = phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            return None
        region = phonenumbers.region_code_for_number(parsed)
        if not region or region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
            return None
        if key is not None:
            self._cache[key] = region
        return region


def _prefix_key(digits: str, national_digits: int) -> str | None:
    """Calling code + the first national digits, or None when the number is shorter than that.

    Calling codes are prefix-free, so the first 1-3 digits found in phonenumbers' table are it."""
    for size in (1, 2, 3):
        if (
            digits[:size].isdigit()
            and int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        ):
            key = digits[: size + national_digits]
            return key if len(key) == size + national_digits else None
    return None
