#!/usr/bin/env python3
"""Generates the reference data set of `soldout demo` (see README.md next to this file).

Writes shipments.csv, tracker.csv, fx.csv and targets.csv next to itself, then reads
the rows it wrote back and asserts the statements the data set must reproduce, printing
each figure. Standard library only; deterministic (no clock, no `random`: a fixed hash
gives every variation), so running it twice writes identical bytes. Units and money
are integers throughout: revenue is computed in minor units and only formatted as
`major.minor` when written.

    python3 data/reference/generate.py
"""

import calendar
import datetime
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO_RS = os.path.join(HERE, "..", "..", "crates", "soldout", "src", "demo.rs")

FIRST_DAY = datetime.date(2014, 1, 1)
LAST_DAY = datetime.date(2017, 6, 30)

MARKETS = {"CN": "CNY", "IN": "INR", "RU": "RUB"}
MINOR_PER_MAJOR = 100  # CNY, INR and RUB all have 2 decimals.
CHANNELS = ("flash_sale", "online", "store", "partner")

# ---------------------------------------------------------------------------------
# The catalog: product id -> (name, SKU codes). Must match `MODELS` in demo.rs
# (checked below when demo.rs is there).
PRODUCTS = {
    "mi-6": ("Mi 6", ["MI6-6-64-BLK", "MI6-6-64-BLU", "MI6-6-128-BLK"]),
    "mi-max-2": ("Mi Max 2", ["MIMAX2-4-64-GLD", "MIMAX2-4-128-GLD"]),
    "redmi-note-4": ("Redmi Note 4", ["RN4-2-32-GRY", "RN4-3-32-GLD", "RN4-4-64-BLK"]),
    "redmi-4x": ("Redmi 4X", ["R4X-2-16-GLD", "R4X-3-32-BLK"]),
    "mi-note-2": ("Mi Note 2", ["MINOTE2-4-64-BLK", "MINOTE2-6-128-SLV"]),
    "mi-mix": ("Mi Mix", ["MIMIX-4-128-BLK", "MIMIX-6-256-BLK"]),
    "mi-6-plus": ("Mi 6 Plus", ["MI6P-6-64-BLK"]),
    "mi-2s": ("Mi 2S", ["MI2S-2-16-WHT", "MI2S-2-32-WHT"]),
    "redmi-1": ("Redmi 1", ["R1-1-4-GRY"]),
    "mi-3": ("Mi 3", ["MI3-2-16-GRY", "MI3-2-64-WHT"]),
    "redmi-note": ("Redmi Note", ["RNOTE-1-8-WHT", "RNOTE-2-8-WHT"]),
    "redmi-1s": ("Redmi 1S", ["R1S-1-8-GRY"]),
    "mi-4": ("Mi 4", ["MI4-3-16-WHT", "MI4-3-64-WHT"]),
    "redmi-2": ("Redmi 2", ["R2-1-8-GRY", "R2-2-16-WHT"]),
    "mi-note": ("Mi Note", ["MINOTE-3-16-WHT", "MINOTE-3-64-BLK"]),
    "mi-4i": ("Mi 4i", ["MI4I-2-16-WHT", "MI4I-2-32-GRY"]),
    "redmi-note-2": ("Redmi Note 2", ["RNOTE2-2-16-WHT", "RNOTE2-2-32-BLU"]),
    "mi-4c": ("Mi 4c", ["MI4C-2-16-WHT", "MI4C-3-32-WHT"]),
    "redmi-note-3": ("Redmi Note 3", ["RNOTE3-2-16-GRY", "RNOTE3-3-32-GLD"]),
    "redmi-3": ("Redmi 3", ["R3-2-16-GLD"]),
    "mi-5": ("Mi 5", ["MI5-3-32-WHT", "MI5-3-64-BLK"]),
    "mi-max": ("Mi Max", ["MIMAX-3-32-GRY", "MIMAX-3-64-GLD"]),
    "redmi-3s": ("Redmi 3S", ["R3S-2-16-GRY", "R3S-3-32-GLD"]),
    "mi-5s": ("Mi 5s", ["MI5S-3-64-GLD", "MI5S-4-128-GRY"]),
    "redmi-4": ("Redmi 4", ["R4-2-16-GLD", "R4-2-16-SLV"]),
    "redmi-4a": ("Redmi 4A", ["R4A-2-16-GLD", "R4A-2-16-GRY"]),
}

# ---------------------------------------------------------------------------------
# What each market sold: product -> (first sale, last month on sale, popularity,
# {SKU: (list price in major units, share weight)}). A model sells from its first
# sale (rows of that month are dated at the month's end, after it) until the end of
# its last month. Models on sale before 2014 carry their real first-sale date: their
# age sets their place in the life-cycle curve and their price cut.
PLAN = {
    "CN": {
        "mi-2s": ("2013-04-09", "2014-09", 60, {"MI2S-2-16-WHT": (1999, 60), "MI2S-2-32-WHT": (2299, 40)}),
        "redmi-1": ("2013-09-05", "2014-09", 120, {"R1-1-4-GRY": (799, 100)}),
        "mi-3": ("2013-10-15", "2015-03", 130, {"MI3-2-16-GRY": (1999, 75), "MI3-2-64-WHT": (2499, 25)}),
        "redmi-note": ("2014-03-26", "2015-06", 130, {"RNOTE-1-8-WHT": (799, 45), "RNOTE-2-8-WHT": (999, 55)}),
        "redmi-1s": ("2014-05-13", "2015-03", 110, {"R1S-1-8-GRY": (699, 100)}),
        "mi-4": ("2014-08-19", "2015-12", 120, {"MI4-3-16-WHT": (1999, 70), "MI4-3-64-WHT": (2499, 30)}),
        "redmi-2": ("2015-01-09", "2016-03", 130, {"R2-1-8-GRY": (599, 55), "R2-2-16-WHT": (699, 45)}),
        "mi-note": ("2015-03-03", "2015-12", 35, {"MINOTE-3-16-WHT": (2299, 65), "MINOTE-3-64-BLK": (2799, 35)}),
        "redmi-note-2": ("2015-08-16", "2016-06", 150, {"RNOTE2-2-16-WHT": (799, 60), "RNOTE2-2-32-BLU": (999, 40)}),
        "mi-4c": ("2015-09-23", "2016-06", 55, {"MI4C-2-16-WHT": (1299, 55), "MI4C-3-32-WHT": (1499, 45)}),
        "redmi-note-3": ("2015-11-27", "2016-12", 150, {"RNOTE3-2-16-GRY": (899, 55), "RNOTE3-3-32-GLD": (1099, 45)}),
        "redmi-3": ("2016-01-12", "2016-09", 110, {"R3-2-16-GLD": (699, 100)}),
        "mi-5": ("2016-03-01", "2017-06", 75, {"MI5-3-32-WHT": (1999, 60), "MI5-3-64-BLK": (2299, 40)}),
        "mi-max": ("2016-05-17", "2017-06", 40, {"MIMAX-3-32-GRY": (1499, 60), "MIMAX-3-64-GLD": (1699, 40)}),
        "redmi-3s": ("2016-06-13", "2017-03", 100, {"R3S-2-16-GRY": (699, 55), "R3S-3-32-GLD": (899, 45)}),
        "redmi-note-4": ("2016-08-26", "2017-06", 150, {"RN4-2-32-GRY": (899, 30), "RN4-3-32-GLD": (999, 45), "RN4-4-64-BLK": (1199, 25)}),
        "mi-5s": ("2016-09-29", "2017-06", 40, {"MI5S-3-64-GLD": (1999, 65), "MI5S-4-128-GRY": (2599, 35)}),
        "mi-note-2": ("2016-11-01", "2017-06", 25, {"MINOTE2-4-64-BLK": (2799, 60), "MINOTE2-6-128-SLV": (3299, 40)}),
        "mi-mix": ("2016-11-04", "2017-06", 15, {"MIMIX-4-128-BLK": (3499, 65), "MIMIX-6-256-BLK": (3999, 35)}),
        "redmi-4": ("2016-11-11", "2017-06", 100, {"R4-2-16-GLD": (699, 55), "R4-2-16-SLV": (699, 45)}),
        "redmi-4a": ("2016-11-11", "2017-06", 110, {"R4A-2-16-GLD": (499, 55), "R4A-2-16-GRY": (499, 45)}),
        "redmi-4x": ("2017-03-03", "2017-06", 130, {"R4X-2-16-GLD": (699, 55), "R4X-3-32-BLK": (899, 45)}),
        "mi-6": ("2017-04-28", "2017-06", 160, {"MI6-6-64-BLK": (2499, 45), "MI6-6-64-BLU": (2499, 25), "MI6-6-128-BLK": (2899, 30)}),
        "mi-max-2": ("2017-06-01", "2017-06", 60, {"MIMAX2-4-64-GLD": (1699, 60), "MIMAX2-4-128-GLD": (1999, 40)}),
    },
    "IN": {
        "mi-3": ("2014-07-22", "2015-03", 100, {"MI3-2-16-GRY": (13999, 100)}),
        "redmi-1s": ("2014-09-02", "2015-06", 150, {"R1S-1-8-GRY": (5999, 100)}),
        "redmi-note": ("2014-12-02", "2015-09", 110, {"RNOTE-2-8-WHT": (8999, 100)}),
        "mi-4": ("2015-01-28", "2015-12", 50, {"MI4-3-16-WHT": (19999, 70), "MI4-3-64-WHT": (23999, 30)}),
        "redmi-2": ("2015-03-24", "2016-06", 120, {"R2-1-8-GRY": (6999, 50), "R2-2-16-WHT": (6999, 50)}),
        "mi-4i": ("2015-04-30", "2016-03", 70, {"MI4I-2-16-WHT": (12999, 65), "MI4I-2-32-GRY": (14999, 35)}),
        "redmi-note-3": ("2016-03-09", "2017-03", 170, {"RNOTE3-2-16-GRY": (9999, 50), "RNOTE3-3-32-GLD": (11999, 50)}),
        "mi-5": ("2016-04-06", "2016-12", 20, {"MI5-3-32-WHT": (24999, 100)}),
        "mi-max": ("2016-07-06", "2017-06", 25, {"MIMAX-3-32-GRY": (14999, 100)}),
        "redmi-3s": ("2016-08-17", "2017-06", 110, {"R3S-2-16-GRY": (6999, 50), "R3S-3-32-GLD": (8999, 50)}),
        "redmi-note-4": ("2017-01-23", "2017-06", 220, {"RN4-2-32-GRY": (9999, 30), "RN4-3-32-GLD": (10999, 45), "RN4-4-64-BLK": (12999, 25)}),
        "redmi-4a": ("2017-03-23", "2017-06", 110, {"R4A-2-16-GLD": (5999, 55), "R4A-2-16-GRY": (5999, 45)}),
        "redmi-4x": ("2017-05-23", "2017-06", 90, {"R4X-2-16-GLD": (6999, 55), "R4X-3-32-BLK": (8999, 45)}),
    },
    "RU": {
        "redmi-note-3": ("2016-01-15", "2017-03", 100, {"RNOTE3-2-16-GRY": (13990, 55), "RNOTE3-3-32-GLD": (15990, 45)}),
        "mi-5": ("2016-04-15", "2017-03", 25, {"MI5-3-32-WHT": (29990, 60), "MI5-3-64-BLK": (32990, 40)}),
        "redmi-3s": ("2016-08-25", "2017-06", 100, {"R3S-2-16-GRY": (10990, 55), "R3S-3-32-GLD": (12990, 45)}),
        "mi-max": ("2016-08-25", "2017-06", 30, {"MIMAX-3-32-GRY": (19990, 60), "MIMAX-3-64-GLD": (21990, 40)}),
        "redmi-4a": ("2017-01-20", "2017-06", 80, {"R4A-2-16-GLD": (8990, 55), "R4A-2-16-GRY": (8990, 45)}),
        "mi-note-2": ("2017-06-01", "2017-06", 15, {"MINOTE2-4-64-BLK": (34990, 60), "MINOTE2-6-128-SLV": (39990, 40)}),
        "mi-mix": ("2017-06-01", "2017-06", 10, {"MIMIX-4-128-BLK": (39990, 65), "MIMIX-6-256-BLK": (44990, 35)}),
        "redmi-4x": ("2017-06-08", "2017-06", 100, {"R4X-2-16-GLD": (11990, 55), "R4X-3-32-BLK": (13990, 45)}),
    },
}

# Units a model sells in a month, relative, by its age in months since the month of
# its first sale (the first month scaled by the days it was on sale); after the
# table's end, the last value.
LIFE_CYCLE = [70, 100, 100, 96, 92, 87, 82, 76, 70, 64, 58, 52, 46, 41, 36, 31, 27, 23,
              19, 16, 13, 10, 8, 6, 5, 4, 3, 2]

# Price cut: from this many months after the first-sale month, the list price is 88%
# of the launch price, rounded down to a price point (…99 for CNY and INR, …990 RUB).
PRICE_CUT_AGE = 9

# Partners buy at 92% of the list price (sell-in), in whole minor units, rounded down.
PARTNER_PERCENT = 92

# Month of year -> relative weight within a quarter (Singles' Day, 618, Diwali, ...).
SEASON = {
    "CN": {1: 100, 2: 85, 3: 100, 4: 95, 5: 100, 6: 118, 7: 100, 8: 100, 9: 105, 10: 100, 11: 130, 12: 105},
    "IN": {1: 100, 2: 95, 3: 105, 4: 95, 5: 100, 6: 105, 7: 95, 8: 100, 9: 105, 10: 125, 11: 105, 12: 100},
    "RU": {1: 80, 2: 90, 3: 100, 4: 95, 5: 100, 6: 105, 7: 95, 8: 100, 9: 105, 10: 100, 11: 110, 12: 130},
}


def channel_weights(market, year, month):
    """Each channel's relative weight in a market and month."""
    ym = (year, month)
    if market == "CN":
        if year == 2014:
            return {"flash_sale": 45, "online": 35, "partner": 20}
        if year == 2015:
            return {"flash_sale": 35, "online": 40, "partner": 25}
        if year == 2016:
            return {"flash_sale": 25, "online": 40, "store": 5, "partner": 30}
        return {"flash_sale": 15, "online": 35, "store": 12, "partner": 38}
    if market == "IN":
        if year <= 2015:
            return {"flash_sale": 85, "online": 15}
        if year == 2016:
            return {"flash_sale": 55, "online": 30, "partner": 15}
        if ym < (2017, 5):  # Mi Home Bengaluru opened in May 2017.
            return {"flash_sale": 40, "online": 30, "partner": 30}
        return {"flash_sale": 35, "online": 28, "store": 7, "partner": 30}
    if market == "RU":
        if ym < (2017, 4):
            return {"partner": 100}
        if ym < (2017, 5):  # Mi Store Aviapark from May 2017.
            return {"online": 12, "partner": 88}
        return {"online": 12, "store": 8, "partner": 80}
    raise ValueError(market)


# Units per quarter and market. China is the rest of the quarter's total; India's
# 2016Q2 is solved for (statement 4), China's 2016Q2 takes up the difference.
QUARTER_TOTALS = {
    "2014Q1": 11_000_000, "2014Q2": 15_000_000, "2014Q3": 17_300_000, "2014Q4": 17_820_000,
    "2015Q1": 15_000_000, "2015Q2": 19_700_000, "2015Q3": 18_500_000, "2015Q4": 16_800_000,
    "2016Q1": 14_800_000, "2016Q2": 13_100_000, "2016Q3": 14_600_000, "2016Q4": 15_500_000,
    "2017Q1": 13_624_000, "2017Q2": 23_160_000,
}
INDIA = {
    "2014Q3": 450_000, "2014Q4": 1_050_000,
    "2015Q1": 800_000, "2015Q2": 900_000, "2015Q3": 850_000, "2015Q4": 950_000,
    "2016Q1": 820_000, "2016Q2": None, "2016Q3": 2_000_000, "2016Q4": 2_350_000,
    "2017Q1": 3_400_000, "2017Q2": 4_620_000,
}
RUSSIA = {
    "2016Q1": 40_000, "2016Q2": 55_000, "2016Q3": 75_000, "2016Q4": 110_000,
    "2017Q1": 140_000, "2017Q2": 230_000,
}

# ---------------------------------------------------------------------------------
# Tracker data (IN and RU, 2016Q1..2017Q2): market size, named vendors' units, and
# model rows (a vendor with model rows gets one more row, empty model, for the rest).
TRACKER_QUARTERS = ["2016Q1", "2016Q2", "2016Q3", "2016Q4", "2017Q1", "2017Q2"]
TRACKER = {
    "IN": {
        "market": [25_000_000, 27_500_000, 33_000_000, 27_000_000, 27_500_000, 29_800_000],
        "vendors": {
            "Samsung": [6_050_000, 6_900_000, 7_700_000, 6_400_000, 7_050_000, 7_250_000],
            "Micromax": [3_300_000, 3_350_000, 2_900_000, 2_100_000, 1_800_000, 1_300_000],
            "Lenovo": [1_900_000, 2_100_000, 3_100_000, 2_300_000, 2_400_000, 2_150_000],
            "Vivo": [1_100_000, 1_450_000, 2_250_000, 2_600_000, 2_800_000, 3_650_000],
            "Oppo": [900_000, 1_600_000, 2_700_000, 2_900_000, 2_600_000, 2_900_000],
            "Intex": [1_500_000, 1_600_000, 1_400_000, 1_100_000, 900_000, 700_000],
            "Apple": [600_000, 500_000, 500_000, 900_000, 800_000, 780_000],
            "Huawei": [250_000, 300_000, 350_000, 400_000, 420_000, 450_000],
        },
        "models": {
            "Samsung": [
                [("Galaxy J2", 1_050_000), ("Galaxy J7", 700_000), ("Galaxy J5", 620_000)],
                [("Galaxy J2", 1_150_000), ("Galaxy J7", 820_000), ("Galaxy On7", 560_000)],
                [("Galaxy J2", 1_200_000), ("Galaxy On7", 900_000), ("Galaxy J7", 760_000)],
                [("Galaxy J7 Prime", 1_050_000), ("Galaxy J2", 980_000), ("Galaxy On Nxt", 610_000)],
                [("Galaxy J7 Prime", 1_120_000), ("Galaxy J2", 1_040_000), ("Galaxy On Nxt", 720_000)],
                [("Galaxy J2", 1_150_000), ("Galaxy J7 Prime", 980_000), ("Galaxy On Nxt", 640_000)],
            ],
            "Vivo": [
                [("Vivo Y51L", 380_000)],
                [("Vivo Y51L", 420_000), ("Vivo V3", 300_000)],
                [("Vivo Y55L", 600_000), ("Vivo V3", 450_000)],
                [("Vivo Y55L", 750_000), ("Vivo V5", 600_000)],
                [("Vivo Y55s", 700_000), ("Vivo V5", 650_000)],
                [("Vivo Y53", 1_020_000), ("Vivo V5 Plus", 560_000)],
            ],
            "Oppo": [
                [("Oppo F1", 350_000)],
                [("Oppo F1", 450_000), ("Oppo A37", 300_000)],
                [("Oppo A37", 850_000), ("Oppo F1s", 700_000)],
                [("Oppo F1s", 900_000), ("Oppo A37", 700_000)],
                [("Oppo A57", 700_000), ("Oppo F1s", 600_000)],
                [("Oppo A57", 900_000), ("Oppo F3", 520_000)],
            ],
        },
        # The tracker's own estimate of Xiaomi, in percent of our ledger (ignored by
        # the reports, which use the ledger).
        "xiaomi_percent": [104, 97, 102, 105, 98, 101],
    },
    "RU": {
        "market": [6_400_000, 6_600_000, 7_100_000, 8_300_000, 6_900_000, 7_000_000],
        "vendors": {
            "Samsung": [1_650_000, 1_750_000, 1_900_000, 2_300_000, 1_950_000, 2_000_000],
            "Apple": [750_000, 650_000, 700_000, 1_350_000, 900_000, 800_000],
            "Huawei": [300_000, 380_000, 480_000, 620_000, 550_000, 650_000],
            "Lenovo": [520_000, 480_000, 500_000, 550_000, 420_000, 380_000],
            "Fly": [550_000, 500_000, 480_000, 500_000, 400_000, 350_000],
            "Asus": [300_000, 280_000, 300_000, 330_000, 250_000, 240_000],
            "ZTE": [200_000, 220_000, 240_000, 300_000, 260_000, 250_000],
        },
        "models": {},
        # Trackers count grey imports too, which our ledger does not.
        "xiaomi_percent": [320, 300, 260, 240, 210, 170],
    },
}

# Exchange rates: units of currency per USD, quarterly averages.
FX = {
    "CNY": ["6.1050", "6.1573", "6.1604", "6.1432", "6.2364", "6.2062", "6.2945", "6.3735",
            "6.5216", "6.5318", "6.6706", "6.7876", "6.8836", "6.8564"],
    "INR": ["61.79", "59.77", "60.60", "61.96", "62.27", "63.48", "64.94", "65.93",
            "67.51", "66.93", "66.95", "67.94", "67.02", "64.46"],
    "RUB": ["34.97", "34.98", "36.19", "47.61", "62.19", "52.65", "62.98", "65.94",
            "74.63", "65.88", "64.62", "63.07", "58.84", "57.15"],
}

TARGETS = [(2015, 100_000_000), (2018, 100_000_000)]

BRAND = "Xiaomi"

# ---------------------------------------------------------------------------------


def quarters():
    return [f"{y}Q{q}" for y in range(2014, 2018) for q in range(1, 5)
            if f"{y}Q{q}" <= "2017Q2"]


def quarter_of(date):
    return f"{date.year}Q{(date.month - 1) // 3 + 1}"


def months_of(quarter):
    year, q = int(quarter[:4]), int(quarter[5])
    return [(year, 3 * (q - 1) + i) for i in (1, 2, 3)]


def parse_date(text):
    return datetime.date.fromisoformat(text)


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def jitter(*key):
    """A fixed percentage from 85 to 115 for a key: the same key, the same value."""
    return 85 + splitmix64(fnv1a64("|".join(map(str, key)))) % 31


def cut_price(price, currency):
    """88% of a price, rounded down to a price point."""
    if currency == "RUB":
        return (price + 10) * 88 // 100 // 1000 * 1000 - 10
    return (price + 1) * 88 // 100 // 100 * 100 - 1


def unit_price_minor(market, product, sku, year, month, channel):
    first_sale, _, _, skus = PLAN[market][product]
    start = parse_date(first_sale)
    age = (year - start.year) * 12 + month - start.month
    price = skus[sku][0]
    if age >= PRICE_CUT_AGE:
        price = cut_price(price, MARKETS[market])
    minor = price * MINOR_PER_MAJOR
    if channel == "partner":
        minor = minor * PARTNER_PERCENT // 100
    return minor


def month_weight(market, product, year, month):
    """A model's relative units in a month of a market (0 when not on sale)."""
    first_sale, last_month, popularity, _ = PLAN[market][product]
    start = parse_date(first_sale)
    last_y, last_m = map(int, last_month.split("-"))
    if (year, month) < (start.year, start.month) or (year, month) > (last_y, last_m):
        return 0
    age = (year - start.year) * 12 + month - start.month
    weight = popularity * LIFE_CYCLE[min(age, len(LIFE_CYCLE) - 1)] * SEASON[market][month]
    if age == 0:
        days = calendar.monthrange(year, month)[1]
        weight = weight * (days - start.day + 1) // days
    return weight


def allocate(total, cells):
    """Splits `total` units over `cells` [(key, integer weight)] by largest remainder
    (ties by position): the parts add up to `total` exactly."""
    weight_sum = sum(w for _, w in cells)
    if total and not weight_sum:
        raise AssertionError(f"{total} units to allocate but nothing on sale")
    parts, remainders = [], []
    for i, (_, w) in enumerate(cells):
        parts.append(total * w // weight_sum)
        remainders.append((-(total * w % weight_sum), i))
    for _, i in sorted(remainders)[: total - sum(parts)]:
        parts[i] += 1
    return [(key, units) for (key, _), units in zip(cells, parts)]


def market_quarter_rows(market, quarter, total):
    """The shipment rows of one market and quarter: `total` units over models, months,
    channels and SKUs; partner rows are per model (no SKU)."""
    cells = []
    for year, month in months_of(quarter):
        for product in PLAN[market]:
            mw = month_weight(market, product, year, month)
            if not mw:
                continue
            for channel, cw in channel_weights(market, year, month).items():
                for sku, (_, sw) in PLAN[market][product][3].items():
                    j = jitter(market, product, sku, year, month, channel)
                    cells.append(((year, month, channel, product, sku), mw * cw * sw * j))
    rows = {}
    for (year, month, channel, product, sku), units in allocate(total, cells):
        if not units:
            continue
        revenue = units * unit_price_minor(market, product, sku, year, month, channel)
        date = datetime.date(year, month, calendar.monthrange(year, month)[1])
        key = (date, market, channel, product, "" if channel == "partner" else sku)
        u, r = rows.get(key, (0, 0))
        rows[key] = (u + units, r + revenue)
    return [key + value for key, value in rows.items()]


def format_minor(minor):
    assert minor >= 0
    return f"{minor // MINOR_PER_MAJOR}.{minor % MINOR_PER_MAJOR:02d}"


def ledger_rows(india_2016q2):
    rows = []
    for quarter in quarters():
        india = INDIA.get(quarter, 0)
        if quarter == "2016Q2":
            india = india_2016q2
        russia = RUSSIA.get(quarter, 0)
        china = QUARTER_TOTALS[quarter] - india - russia
        for market, total in (("CN", china), ("IN", india), ("RU", russia)):
            if total:
                rows.extend(market_quarter_rows(market, quarter, total))
    return rows


def india_revenue(rows, quarter):
    return sum(r[6] for r in rows if r[1] == "IN" and quarter_of(r[0]) == quarter)


def solve_india_2016q2():
    """India's 2016Q2 units (a multiple of 100) whose revenue puts India's 2017Q2
    revenue at 4.280 times it (revenue_yoy 3.28)."""
    rev_2017 = india_revenue(market_quarter_rows("IN", "2017Q2", INDIA["2017Q2"]), "2017Q2")

    def rev(units):
        return india_revenue(market_quarter_rows("IN", "2016Q2", units), "2016Q2")

    guess = 1_000_000
    for _ in range(4):
        guess = guess * rev_2017 * 1000 // (4280 * rev(guess))
    best = None
    for units in range(guess // 100 * 100 - 5_000, guess // 100 * 100 + 5_100, 100):
        # |rev_2017 / rev - 4.280| compared exactly as |1000 rev_2017 - 4280 rev| / rev.
        r = rev(units)
        distance = (abs(1000 * rev_2017 - 4280 * r), r)
        if best is None or distance[0] * best[1][1] < best[1][0] * r:
            best = (units, distance)
    return best[0]


# ---------------------------------------------------------------------------------


def tracker_rows(ledger_units):
    """`ledger_units[(market, quarter)]`: our units, for the tracker's own Xiaomi row."""
    rows = []
    for market in ("IN", "RU"):
        data = TRACKER[market]
        for i, quarter in enumerate(TRACKER_QUARTERS):
            named = 0
            for vendor, units in data["vendors"].items():
                units = units[i]
                named += units
                models = data["models"].get(vendor)
                if models:
                    listed = sum(u for _, u in models[i])
                    assert listed < units, (market, quarter, vendor)
                    for model, u in models[i]:
                        rows.append((quarter, market, vendor, u, model))
                    rows.append((quarter, market, vendor, units - listed, ""))
                else:
                    rows.append((quarter, market, vendor, units, ""))
            ours = ledger_units.get((market, quarter), 0)
            estimate = (ours * data["xiaomi_percent"][i] // 100 + 5_000) // 10_000 * 10_000
            rows.append((quarter, market, BRAND, estimate, ""))
            others = data["market"][i] - named - estimate
            assert others > 0, (market, quarter, others)
            rows.append((quarter, market, "Others", others, ""))
    return rows


def write_csv(name, header, rows):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(header + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    return path


def read_csv(name):
    with open(os.path.join(HERE, name), encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    assert lines[-1] == "", name
    return lines[0], [line.split(",") for line in lines[1:-1]]


# ---------------------------------------------------------------------------------


def check_catalog():
    """The products and SKUs used here against `MODELS` in demo.rs, when it is there."""
    if not os.path.exists(DEMO_RS):
        print("note: demo.rs not found; catalog not cross-checked")
        return
    with open(DEMO_RS, encoding="utf-8") as f:
        text = f.read()
    start = text.index("const MODELS: &[Model] = &[")
    end = text.index("\n];", start)
    body = text[start:end]
    models = {}
    for block in body.split("Model {")[1:]:
        pid = re.search(r'\bid: "([^"]+)"', block).group(1)
        name = re.search(r'\bname: "([^"]+)"', block).group(1)
        skus = re.findall(r'\("([A-Z0-9-]+)",\s*"', block)
        models[pid] = (name, skus)
    for pid, (name, skus) in PRODUCTS.items():
        assert pid in models, f"{pid} is not in demo.rs MODELS"
        assert models[pid][0] == name, (pid, models[pid][0], name)
        assert models[pid][1] == skus, (pid, models[pid][1], skus)


def validate_shipments(rows):
    assert len(rows) < 20_000
    for r in rows:
        date, market, channel, product, sku, units, revenue, currency = r
        assert len(date) == 10 and FIRST_DAY <= parse_date(date) <= LAST_DAY, r
        assert MARKETS[market] == currency, r
        assert channel in CHANNELS, r
        assert product in PRODUCTS, r
        assert sku == "" or sku in PRODUCTS[product][1], r
        assert re.fullmatch(r"[1-9][0-9]*", units), r
        assert re.fullmatch(r"(0|[1-9][0-9]*)\.[0-9]{2}", revenue), r
        assert int(revenue.replace(".", "")) <= 10**13 * MINOR_PER_MAJOR, r
        first_sale = parse_date(PLAN[market][product][0])
        assert parse_date(date) >= first_sale, ("shipped before its first sale", r)


def ratio_rounds_to(now, base, hundredths):
    """Whether now / base - 1 rounds to `hundredths` / 100 at two decimals, exactly:
    (hundredths - 0.5) / 100 <= now / base - 1 < (hundredths + 0.5) / 100."""
    low = (2 * hundredths - 1 + 200) * base
    high = (2 * hundredths + 1 + 200) * base
    return low <= 200 * now < high


def main():
    check_catalog()
    india_2016q2 = solve_india_2016q2()
    rows = sorted(ledger_rows(india_2016q2))
    shipments = [
        (d.isoformat(), m, c, p, s, u, format_minor(r), MARKETS[m]) for d, m, c, p, s, u, r in rows
    ]
    write_csv("shipments.csv", "date,market,channel,product,sku,units,revenue,currency", shipments)

    ledger_units = {}
    for d, m, _, _, _, u, _ in rows:
        ledger_units[(m, quarter_of(d))] = ledger_units.get((m, quarter_of(d)), 0) + u
    write_csv("tracker.csv", "period,market,vendor,units,model", tracker_rows(ledger_units))

    fx = [(q, c, FX[c][i]) for i, q in enumerate(quarters()) for c in ("CNY", "INR", "RUB")]
    for c in FX:
        assert len(FX[c]) == len(quarters()), c
    write_csv("fx.csv", "period,currency,per_usd", fx)
    write_csv("targets.csv", "year,units", TARGETS)

    verify()


def verify():
    """Reads the files back and checks the statements, printing each figure."""
    header, ship = read_csv("shipments.csv")
    assert header == "date,market,channel,product,sku,units,revenue,currency"
    validate_shipments(ship)
    units = {}  # (market, quarter) -> units
    revenue = {}  # (market, quarter) -> minor units
    by_product = {}  # (market, quarter, product) -> units
    for date, market, _, product, _, u, r, _ in ship:
        q = quarter_of(parse_date(date))
        units[(market, q)] = units.get((market, q), 0) + int(u)
        revenue[(market, q)] = revenue.get((market, q), 0) + int(r.replace(".", ""))
        key = (market, q, product)
        by_product[key] = by_product.get(key, 0) + int(u)

    def all_units(q):
        return sum(units.get((m, q), 0) for m in MARKETS)

    q2, q1 = all_units("2017Q2"), all_units("2017Q1")
    print(f"1. all markets 2017Q2 units: {q2:,}")
    assert q2 == 23_160_000

    print(f"2. all markets 2017Q2 units_qoq: {q2:,} / {q1:,} - 1 = {q2 / q1 - 1:.4f}")
    assert ratio_rounds_to(q2, q1, 70)

    t_header, tracker = read_csv("tracker.csv")
    assert t_header == "period,market,vendor,units,model"
    for period, market, vendor, u, model in tracker:
        assert market in ("IN", "RU") and re.fullmatch(r"20\d\dQ[1-4]", period)
        assert re.fullmatch(r"0|[1-9][0-9]*", u) and vendor and "," not in model
    # A vendor has either one row without a model, or model rows and at most one
    # row without (the rest).
    seen = {}
    for period, market, vendor, u, model in tracker:
        seen.setdefault((period, market, vendor), []).append(model)
    for key, models in seen.items():
        assert models.count("") <= 1 and len(set(models)) == len(models), key

    def view(market, quarter):
        vendors = {}
        models = {}
        for period, m, vendor, u, model in tracker:
            if (period, m) != (quarter, market) or vendor.lower() == BRAND.lower():
                continue
            vendors[vendor] = vendors.get(vendor, 0) + int(u)
            if model and vendor != "Others":
                models[(model, vendor)] = models.get((model, vendor), 0) + int(u)
        vendors[BRAND] = units.get((market, quarter), 0)
        for (m, q, product), u in by_product.items():
            if (m, q) == (market, quarter):
                models[(PRODUCTS[product][0], BRAND)] = u
        ranked = sorted(((-u, v) for v, u in vendors.items() if v != "Others"))
        top = sorted(((-u, name, vendor) for (name, vendor), u in models.items()))
        return [(v, -u) for u, v in ranked], [(n, v, -u) for u, n, v in top]

    ranked, top = view("IN", "2017Q2")
    print("3. India 2017Q2 vendors: " + ", ".join(f"#{i + 1} {v} {u:,}" for i, (v, u) in enumerate(ranked[:4])))
    assert ranked[1][0] == BRAND
    assert ranked[0][1] * 100 >= ranked[1][1] * 115, "Samsung comfortably ahead"
    assert ranked[1][1] * 100 >= ranked[2][1] * 115, "Xiaomi comfortably ahead of #3"

    r17, r16 = revenue[("IN", "2017Q2")], revenue[("IN", "2016Q2")]
    print(f"4. India revenue_yoy 2017Q2: {format_minor(r17)} / {format_minor(r16)} INR - 1 = {r17 / r16 - 1:.4f}")
    assert ratio_rounds_to(r17, r16, 328)

    print("5. India 2017Q2 top models: " + ", ".join(f"{n} ({v}) {u:,}" for n, v, u in top[:4]))
    assert top[0][0] == "Redmi Note 4" and top[0][1] == BRAND
    assert top[0][2] * 100 >= top[1][2] * 150, "Redmi Note 4 comfortably first"

    y2015 = sum(all_units(f"2015Q{q}") for q in range(1, 5))
    print(f"6. all markets 2015 units: {y2015:,} (target 100,000,000: missed)")
    assert y2015 == 70_000_000

    years = ", ".join(f"{y} {sum(all_units(f'{y}Q{q}') for q in range(1, 5)):,}" for y in (2014, 2015, 2016))
    print(f"   (all markets by year: {years}; 2017H1 {q1 + q2:,})")
    in_q2, in_q2_ly = units[("IN", "2017Q2")], units[("IN", "2016Q2")]
    print(f"   (India 2017Q2 units {in_q2:,}, units_yoy {in_q2 / in_q2_ly - 1:.2f}; "
          f"Russia 2017Q2 {units[('RU', '2017Q2')]:,}; China 2017Q2 {units[('CN', '2017Q2')]:,})")
    for name in ("shipments.csv", "tracker.csv", "fx.csv", "targets.csv"):
        with open(os.path.join(HERE, name), "rb") as f:
            data = f.read()
        lines = data.count(b"\n") - 1
        print(f"   {name}: {lines} rows, {len(data):,} bytes")


if __name__ == "__main__":
    sys.exit(main())
