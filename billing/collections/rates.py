"""Statutory interest rates as dated data: art. 6:119 BW (non-commercial, consumers) and art. 6:119a BW
(commercial transactions), one row per half-year from 2015-01-01, each with its source.

How the rates are set (used below only as a cross-check, never to fill a gap silently):
- 6:119 (art. 6:120 lid 1 BW, AMvB "Besluit vaststelling wettelijke rente", before 2023 the KB of
  18 January 1971, Stb. 27): ECB main refinancing rate on the reference day (end of October for 1 January,
  end of April for 1 July) + 2.25 pp, rounded to a whole percent (a half or more up), a change capped at
  2 pp (nota van toelichting, Stb. 2014, 491, https://zoek.officielebekendmakingen.nl/stb-2014-491.html).
  NB: 2025-07-01 stayed 6 % although the formula gives 5 % (MRO 2.40 % end of April 2025 + 2.25 = 4.65);
  the published 6 % is what counts. Open question in docs/collections.md.
- 6:119a (art. 6:120 lid 2 BW): the ECB main refinancing rate on the first calendar day of the half-year
  + 8 pp, following the ECB automatically (no Staatsblad per change; the 2025 rates were announced that way,
  https://www.wieringa-advocaten.nl/en/weblog/2025/01/13/statutory-interest-rate-and-statutory-commercial-interest-rate-to-fall-from-1-january-2025/).

Rows marked `verified=False` come from secondary sources only and were NOT checked against an official
publication (Staatsblad / rijksoverheid.nl); the lead's report lists them. A day after the last row's
half-year has no known rate: the functions refuse it rather than guess (see `rate_on`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class StatutoryRate:
    valid_from: date
    percent: Decimal  # per year, e.g. Decimal("4") for 4 %
    source: str
    verified: bool = True

    @property
    def fraction(self) -> Decimal:
        return self.percent / 100


def _rows(*rows: tuple[str, str, str] | tuple[str, str, str, bool]) -> tuple[StatutoryRate, ...]:
    return tuple(
        StatutoryRate(date.fromisoformat(row[0]), Decimal(row[1]), row[2], *(row[3:] if len(row) > 3 else ()))
        for row in rows
    )


_STB_2014_491 = "Stb. 2014, 491 (2 % from 2015-01-01), https://zoek.officielebekendmakingen.nl/stb-2014-491.html"
_UNCHANGED_2015_2022 = (
    "Stb. 2014, 491 still in force (next change 2023-01-01, BWBR0047640); 2 % confirmed by "
    "https://www.rechtnet.nl/wettelijke-rente-per-1-januari-2016/ and https://www.flib.nl/wettelijke-handelsrente-naar-hoogste-niveau-door-ecb-beleid"
)

# Art. 6:119 BW: wettelijke rente voor niet-handelstransacties (consumers).
CONSUMER_RATES: tuple[StatutoryRate, ...] = _rows(
    ("2015-01-01", "2", _STB_2014_491),
    ("2015-07-01", "2", _UNCHANGED_2015_2022),
    ("2016-01-01", "2", _UNCHANGED_2015_2022),
    ("2016-07-01", "2", _UNCHANGED_2015_2022),
    ("2017-01-01", "2", _UNCHANGED_2015_2022),
    ("2017-07-01", "2", _UNCHANGED_2015_2022),
    ("2018-01-01", "2", _UNCHANGED_2015_2022),
    ("2018-07-01", "2", _UNCHANGED_2015_2022),
    ("2019-01-01", "2", _UNCHANGED_2015_2022),
    ("2019-07-01", "2", _UNCHANGED_2015_2022),
    ("2020-01-01", "2", _UNCHANGED_2015_2022),
    ("2020-07-01", "2", _UNCHANGED_2015_2022),
    ("2021-01-01", "2", _UNCHANGED_2015_2022),
    ("2021-07-01", "2", _UNCHANGED_2015_2022),
    ("2022-01-01", "2", _UNCHANGED_2015_2022),
    ("2022-07-01", "2", _UNCHANGED_2015_2022),
    (
        "2023-01-01",
        "4",
        "Besluit vaststelling wettelijke rente (BWBR0047640) art. 1, in force 2023-01-01, "
        "https://wetten.overheid.nl/BWBR0047640 (text: https://git.wetgit.nl/wetgit/rijk/commit/ea445196ecfdf8e15cc3d8429133360f62a466c7)",
    ),
    ("2023-07-01", "6", "Stb. 2023, 235; https://watsonlaw.nl/wettelijke-handelsrente-vanaf-1-juli-naar-12/"),
    ("2024-01-01", "7", "Stb. 2023, 484; https://smkaccountants.nl/nieuws/item?id=56178"),
    ("2024-07-01", "7", "unchanged; https://mijn.metaalunie.nl/Advies/Detail/wettelijke-rente-per-1-juli-2024"),
    (
        "2025-01-01",
        "6",
        "AMvB of 10 December 2024 (Stb. number not found); "
        "https://www.wieringa-advocaten.nl/en/weblog/2025/01/13/statutory-interest-rate-and-statutory-commercial-interest-rate-to-fall-from-1-january-2025/",
    ),
    ("2025-07-01", "6", "unchanged; vanlaarhovenenpartners.nl (25-09-2025), per research note §4.4"),
    (
        "2026-01-01",
        "4",
        "NOT VERIFIED against the Staatsblad: secondary sources only (two public project notes quoting "
        "'per 1-1-2026 B2C 4%'); rule cross-check: ECB MRO 2.15 % end of October 2025 (unchanged since "
        "2025-06-11, still 2.15 % on 2026-02-05, https://www.brusselstimes.com/eu-affairs/1955847/) "
        "+ 2.25 = 4.40 -> 4 %, a 2 pp change, within the cap",
        False,
    ),
    (
        "2026-07-01",
        "4",
        "NOT VERIFIED: secondary source only (public project note: 'consumentenrente 4% ongewijzigd' per "
        "1-7-2026, said to be checked on rijksoverheid.nl)",
        False,
    ),
)

_COMMERCIAL_8 = (
    "ECB MRO 0.00 % from 2016-03-16 to 2022-07-26 + 8 pp; 8 %: https://www.rijksoverheid.nl/onderwerpen/schulden/"
    "vraag-en-antwoord/hoogte-wettelijke-rente, https://www.flib.nl/wettelijke-handelsrente-naar-hoogste-niveau-door-ecb-beleid"
)

# Art. 6:119a BW: wettelijke rente voor handelstransacties (business subscribers).
COMMERCIAL_RATES: tuple[StatutoryRate, ...] = _rows(
    ("2015-01-01", "8.05", "ECB MRO 0.05 % + 8 pp; advocatenkantooroste.nl, per research note §4.4"),
    ("2015-07-01", "8.05", "https://www.bierensgroup.com/nl/article/nieuwe-wettelijke-handelsrente/"),
    ("2016-01-01", "8.05", "https://www.rechtnet.nl/wettelijke-rente-per-1-januari-2016/"),
    ("2016-07-01", "8", _COMMERCIAL_8),
    ("2017-01-01", "8", _COMMERCIAL_8),
    ("2017-07-01", "8", _COMMERCIAL_8),
    ("2018-01-01", "8", _COMMERCIAL_8),
    ("2018-07-01", "8", _COMMERCIAL_8),
    ("2019-01-01", "8", _COMMERCIAL_8),
    ("2019-07-01", "8", _COMMERCIAL_8),
    ("2020-01-01", "8", _COMMERCIAL_8),
    ("2020-07-01", "8", _COMMERCIAL_8),
    ("2021-01-01", "8", _COMMERCIAL_8),
    ("2021-07-01", "8", _COMMERCIAL_8),
    ("2022-01-01", "8", _COMMERCIAL_8),
    ("2022-07-01", "8", _COMMERCIAL_8),
    (
        "2023-01-01",
        "10.5",
        "ECB MRO 2.50 % + 8 pp; https://www.flib.nl/wettelijke-handelsrente-naar-hoogste-niveau-door-ecb-beleid",
    ),
    ("2023-07-01", "12", "ECB MRO 4.00 % + 8 pp; https://watsonlaw.nl/wettelijke-handelsrente-vanaf-1-juli-naar-12/"),
    ("2024-01-01", "12.5", "ECB MRO 4.50 % + 8 pp; https://nl.wikipedia.org/wiki/Wettelijke_rente"),
    (
        "2024-07-01",
        "12.25",
        "ECB MRO 4.25 % + 8 pp; https://mijn.metaalunie.nl/Advies/Detail/wettelijke-rente-per-1-juli-2024",
    ),
    ("2025-01-01", "11.15", "ECB MRO 3.15 % + 8 pp; https://www.vvoadvocatuur.nl/post/wettelijke-rente-omhoog"),
    ("2025-07-01", "10.15", "ECB MRO 2.15 % + 8 pp; vanlaarhovenenpartners.nl (25-09-2025), per research note §4.4"),
    (
        "2026-01-01",
        "10.15",
        "NOT VERIFIED against an official publication: derived from art. 6:120 lid 2 BW, ECB MRO 2.15 % on "
        "2026-01-01 (unchanged at the last 2025 meeting and on 2026-02-05: https://www.eunews.it/en/?p=444469, "
        "https://www.brusselstimes.com/eu-affairs/1955847/) + 8 pp; a public project table gives the same 10.15 %",
        False,
    ),
    (
        "2026-07-01",
        "10.40",
        "NOT VERIFIED: secondary source only (public project notes: 'handelsrente 10,40% per 1-7-2026'); implies "
        "an ECB MRO of 2.40 % on 2026-07-01, which no ECB source found here confirms",
        False,
    ),
)


def rate_on(table: tuple[StatutoryRate, ...], day: date) -> StatutoryRate:
    """The row in force on `day`: the last row starting on or before it. Rates are set per half-year, so the
    last row is known only until the end of its half-year; a later day raises instead of guessing."""
    if day < table[0].valid_from:
        raise ValueError(
            f"no statutory interest rate in the table for {day.isoformat()}: "
            f"it starts on {table[0].valid_from.isoformat()}"
        )
    last = table[-1]
    known_until = date(last.valid_from.year, 12, 31) if last.valid_from.month > 6 else date(last.valid_from.year, 6, 30)
    if day > known_until:
        raise ValueError(
            f"no statutory interest rate known for {day.isoformat()}: the table ends on {known_until.isoformat()}; "
            "add the rate for the next half-year with its source"
        )
    row = table[0]
    for candidate in table:
        if candidate.valid_from <= day:
            row = candidate
        else:
            break
    return row
