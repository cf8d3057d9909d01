"""The legal core of collections (PAY-3, PAY-4): BIK costs, statutory interest, rate tables, the stacking limit.

Pure functions: no database (no django_db mark), no clock. Every expected figure is worked out by hand in
the comment above it.
"""

import os
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from billing.collections import (
    COMMERCIAL_RATES,
    CONSUMER_RATES,
    OverdueInstalment,
    collection_costs,
    commercial_interest,
    costs_for_instalments,
    first_interest_day,
    interest_end,
    rate_on,
    statutory_interest,
)

D = Decimal


# --- BIK scale (Besluit BIK art. 2, Stb. 2012, 141) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "costs"),
    [
        ("0.01", "40.00"),  # 15 % = 0.0015 -> the EUR 40 minimum (art. 2 lid 2)
        ("266.66", "40.00"),  # 15 % = 39.999 -> minimum 40
        ("266.67", "40.00"),  # 15 % = 40.0005 -> 40.00 (half up at the third decimal: 0.0005 rounds down to .00)
        ("266.70", "40.01"),  # 15 % = 40.005 -> 40.01 (ROUND_HALF_UP)
        ("2500.00", "375.00"),  # 15 % of 2,500
        ("2500.01", "375.00"),  # 375 + 10 % of 0.01 = 375.001 -> 375.00
        ("5000.00", "625.00"),  # 375 + 10 % of 2,500 = 375 + 250
        ("10000.00", "875.00"),  # 625 + 5 % of 5,000 = 625 + 250
        ("200000.00", "2775.00"),  # 875 + 1 % of 190,000 = 875 + 1,900
        ("1000000.00", "6775.00"),  # 2,775 + 0.5 % of 800,000 = 2,775 + 4,000: exactly the maximum
        ("2000000.00", "6775.00"),  # 2,775 + 0.5 % of 1,800,000 = 11,775 -> capped at 6,775
    ],
)
def test_collection_costs_follow_the_bik_scale_at_every_bracket_boundary_pay_4(principal, costs):
    assert collection_costs(D(principal), vat_deductible=True) == D(costs)


@pytest.mark.parametrize(
    ("principal", "costs"),
    [
        ("0.01", "48.40"),  # 40.00 + 21 % (8.40)
        ("266.70", "48.41"),  # 40.01 + 21 % of 40.01 = 8.4021 -> 8.40; 48.41
        ("2500.00", "453.75"),  # 375 + 78.75
        ("1000000.00", "8197.75"),  # 6,775 + 1,422.75
    ],
)
def test_collection_costs_carry_vat_only_when_the_creditor_cannot_deduct_it_pay_4_bik_art_2_lid_3(principal, costs):
    assert collection_costs(D(principal), vat_deductible=False) == D(costs)


def test_collection_costs_vat_is_the_rate_in_force_on_the_day_pay_4():
    # 19 % until 2018-12-31 (flex.money VAT_RATES): 40.00 + 7.60
    assert collection_costs(D("100"), vat_deductible=False, on=date(2018, 12, 31)) == D("47.60")
    assert collection_costs(D("100"), vat_deductible=False, on=date(2019, 1, 1)) == D("48.40")


@pytest.mark.parametrize("principal", ["0", "-1"])
def test_collection_costs_refuse_a_principal_that_is_not_positive(principal):
    with pytest.raises(ValueError, match="positive principal"):
        collection_costs(D(principal), vat_deductible=True)


# --- First day of interest (PAY-2, PAY-3) ----------------------------------------------------------------------


def test_interest_runs_from_the_day_after_the_due_date_pay_3_terms_8_3_2a():
    # Invoice 1 March 2026, due 15 March (14 days, terms art. 8.3): default and interest from 16 March.
    assert first_interest_day(date(2026, 3, 15)) == date(2026, 3, 16)
    assert first_interest_day(date(2024, 2, 28)) == date(2024, 2, 29)


def test_the_payment_day_counts_for_commercial_interest_only_6_119a_lid_1():
    assert interest_end(date(2026, 5, 1), commercial=True) == date(2026, 5, 2)
    assert interest_end(date(2026, 5, 1), commercial=False) == date(2026, 5, 1)


# --- Statutory interest, art. 6:119 BW (PAY-3) --------------------------------------------------------------------


def test_statutory_interest_inside_one_rate_pay_3():
    # 1,000.00 from 2024-03-01 to 2024-03-31 (exclusive): 30 days at 7 %.
    # 1000 x 0.07 x 30 / 365 = 2100 / 365 = 5.7534... -> 5.75
    assert statutory_interest(D("1000.00"), date(2024, 3, 1), date(2024, 3, 31)) == D("5.75")


def test_statutory_interest_follows_the_rate_in_force_each_day_across_a_change_pay_3():
    # 2023-06-15 -> 2023-07-15: 15 June .. 30 June = 16 days at 4 %, 1 July .. 14 July = 14 days at 6 %.
    # 1000 x (16 x 0.04 + 14 x 0.06) / 365 = 1000 x 1.48 / 365 = 4.0547... -> 4.05
    # (30 days all at 4 % would be 3.29; all at 6 % 4.93)
    assert statutory_interest(D("1000.00"), date(2023, 6, 15), date(2023, 7, 15)) == D("4.05")


def test_statutory_interest_is_added_to_the_principal_on_each_anniversary_pay_3_6_119_lid_2():
    # 1,000.00 from 2023-07-01 to 2024-07-11.
    # Year 1 (2023-07-01 .. 2024-06-30, 366 days, a leap day included, each 1/365):
    #   184 days at 6 % (July..December 2023) + 182 days at 7 % (January..June 2024)
    #   1000 x (184 x 0.06 + 182 x 0.07) / 365 = 1000 x 23.78 / 365 = 65.1506... -> 65.15, added on 2024-07-01.
    # Year 2 (2024-07-01 .. 2024-07-10): 10 days at 7 % on 1,065.15 = 1065.15 x 0.7 / 365 = 2.0427...
    # Total 65.15 + 2.0427 = 67.1927 -> 67.19. Without capitalisation: 65.1506 + 1.9178 = 67.07.
    assert statutory_interest(D("1000.00"), date(2023, 7, 1), date(2024, 7, 11)) == D("67.19")


def test_statutory_interest_counts_a_leap_day_as_one_365th_pay_3():
    # 36,500.00 for 28 and 29 February 2024 at 7 %: 36500 x 0.07 x 2 / 365 = 14.00 (a 1/366 count gives 13.96).
    assert statutory_interest(D("36500.00"), date(2024, 2, 28), date(2024, 3, 1)) == D("14.00")


def test_statutory_interest_over_no_days_is_zero_pay_3():
    assert statutory_interest(D("1000.00"), date(2025, 5, 1), date(2025, 5, 1)) == D("0.00")


def test_statutory_interest_refuses_an_end_before_the_start():
    with pytest.raises(ValueError, match="before it starts"):
        statutory_interest(D("1000.00"), date(2025, 5, 2), date(2025, 5, 1))


def test_statutory_interest_refuses_days_before_the_table_naming_the_date():
    with pytest.raises(ValueError, match="2014-12-31"):
        statutory_interest(D("1000.00"), date(2014, 12, 31), date(2015, 1, 2))


def test_statutory_interest_refuses_a_half_year_whose_rate_is_not_in_the_table():
    assert statutory_interest(D("36500.00"), date(2026, 12, 31), date(2027, 1, 1)) == D("4.00")  # 36500 x 4 % / 365
    with pytest.raises(ValueError, match="2027-01-01"):
        statutory_interest(D("36500.00"), date(2026, 12, 31), date(2027, 1, 2))


# --- Commercial interest, art. 6:119a BW ---------------------------------------------------------------------------


def test_commercial_interest_matches_a_published_example_6_119a():
    # Published example, https://go-figure.nl/tag/rente/: "11/365 * 8% * EUR 1000 = EUR 2,41".
    # 8 % was the commercial rate from 2016-07-01 to 2022-12-31; 11 days from 2019-03-01.
    assert commercial_interest(D("1000.00"), date(2019, 3, 1), date(2019, 3, 12)) == D("2.41")


def test_commercial_interest_is_capitalised_yearly_too_6_119a_lid_3():
    # 10,000.00 from 2024-01-01 to 2025-01-11.
    # Year 1 (2024-01-01 .. 2024-12-31, 366 days): 182 days at 12.5 % + 184 days at 12.25 %
    #   10000 x (182 x 0.125 + 184 x 0.1225) / 365 = 10000 x 45.29 / 365 = 1240.8219... -> 1,240.82 added.
    # Year 2 (2025-01-01 .. 2025-01-10): 10 days at 11.15 % on 11,240.82 = 11240.82 x 1.115 / 365 = 34.3381...
    # Total 1240.82 + 34.3381 = 1275.1581 -> 1,275.16
    assert commercial_interest(D("10000.00"), date(2024, 1, 1), date(2025, 1, 11)) == D("1275.16")


# --- Rate tables -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", [CONSUMER_RATES, COMMERCIAL_RATES], ids=["6:119", "6:119a"])
def test_rate_tables_have_one_row_per_half_year_from_2015_each_with_a_source(table):
    expected = [date(year, month, 1) for year in range(2015, 2027) for month in (1, 7)]
    assert [row.valid_from for row in table] == expected
    assert all(row.source.strip() for row in table)


def test_rate_on_picks_the_row_in_force_that_day():
    assert rate_on(CONSUMER_RATES, date(2023, 6, 30)).percent == D("4")
    assert rate_on(CONSUMER_RATES, date(2023, 7, 1)).percent == D("6")
    assert rate_on(COMMERCIAL_RATES, date(2025, 1, 1)).percent == D("11.15")


# --- Stacking limit on recurring instalments (PAY-4; BIK as amended, in force 2024-10-01) ----------------------------


def _monthly(*costs_due_days, principal="50.00"):
    return [OverdueInstalment(D(principal), day - timedelta(days=20), day) for day in costs_due_days]


def test_costs_of_a_second_missed_month_within_six_months_are_not_stacked_pay_4():
    # 50.00 a month: BIK 40.00 each; the second, 31 days later, looks back and finds 40.00 already charged.
    result = costs_for_instalments(_monthly(date(2025, 1, 20), date(2025, 2, 20)), vat_deductible=True)
    assert [r.costs for r in result] == [D("40.00"), D("0.00")]
    assert [r.reason for r in result] == ["bik_scale", "cumulation_limit"]


def test_the_six_month_look_back_includes_its_first_day_pay_4():
    # 2025-07-20 minus six months = 2025-01-20: the January charge is inside the window -> nothing more.
    on_the_boundary = costs_for_instalments(_monthly(date(2025, 1, 20), date(2025, 7, 20)), vat_deductible=True)
    assert [r.costs for r in on_the_boundary] == [D("40.00"), D("0.00")]
    # One day later the window starts 2025-01-21 and holds no charge: a fresh 40.00.
    a_day_later = costs_for_instalments(_monthly(date(2025, 1, 20), date(2025, 7, 21)), vat_deductible=True)
    assert [r.costs for r in a_day_later] == [D("40.00"), D("40.00")]


def test_a_year_of_missed_months_costs_what_two_windows_allow_pay_4():
    # Monthly from 2025-01-20 to 2025-12-20. January: 40.00. February..July look back to a window holding
    # January's 40.00 (July's window starts on 2025-01-20 itself): 0.00. August's window 2025-02-20..2025-08-20
    # holds only zeros: 40.00. September..December look back to August: 0.00. Total 80.00, not 12 x 40.00.
    days = [date(2025, month, 20) for month in range(1, 13)]
    result = costs_for_instalments(_monthly(*days), vat_deductible=True)
    assert [r.costs for r in result] == [D("40.00")] + [D("0.00")] * 6 + [D("40.00")] + [D("0.00")] * 4


def test_costs_due_before_1_october_2024_follow_the_plain_scale_but_count_in_later_look_backs_pay_4():
    result = costs_for_instalments(
        _monthly(date(2024, 8, 30), date(2024, 9, 30), date(2024, 10, 1)), vat_deductible=True
    )
    assert [r.costs for r in result] == [D("40.00"), D("40.00"), D("0.00")]


def test_the_limit_is_the_highest_fee_of_one_instalment_in_the_window_pay_4():
    # 100.00 (BIK 40.00) then 400.00 (BIK 60.00): the second may add 60.00 - 40.00 = 20.00.
    small_first = costs_for_instalments(
        [
            OverdueInstalment(D("100.00"), date(2025, 3, 1), date(2025, 4, 1)),
            OverdueInstalment(D("400.00"), date(2025, 4, 1), date(2025, 5, 1)),
        ],
        vat_deductible=True,
    )
    assert [r.costs for r in small_first] == [D("40.00"), D("20.00")]
    # The other way round the 60.00 already covers the 40.00 of the smaller one.
    large_first = costs_for_instalments(
        [
            OverdueInstalment(D("400.00"), date(2025, 3, 1), date(2025, 4, 1)),
            OverdueInstalment(D("100.00"), date(2025, 4, 1), date(2025, 5, 1)),
        ],
        vat_deductible=True,
    )
    assert [r.costs for r in large_first] == [D("60.00"), D("0.00")]


def test_an_instalment_without_an_expired_veertiendagenbrief_carries_no_costs_pay_4_6_96_lid_6():
    result = costs_for_instalments([OverdueInstalment(D("50.00"), date(2025, 3, 1), None)], vat_deductible=True)
    assert (result[0].costs, result[0].reason) == (D("0.00"), "no_expired_letter")


def test_the_limit_applies_to_costs_including_vat_pay_4():
    result = costs_for_instalments(_monthly(date(2025, 1, 20), date(2025, 2, 20)), vat_deductible=False)
    assert [r.costs for r in result] == [D("48.40"), D("0.00")]


def test_costs_cannot_fall_due_before_default():
    with pytest.raises(ValueError, match="after default"):
        costs_for_instalments([OverdueInstalment(D("50.00"), date(2025, 3, 1), date(2025, 3, 1))], vat_deductible=True)


# --- Importable without a database or settings ------------------------------------------------------------------


def test_the_legal_core_imports_without_django_settings_or_models():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, billing.collections as c\n"
        "from django.conf import settings\n"
        "assert not settings.configured, 'settings were configured on import'\n"
        "assert 'billing.models' not in sys.modules, 'models were imported'\n"
        "print(c.collection_costs(c.BIK_MINIMUM, vat_deductible=True))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "40.00"
