#!/usr/bin/env python3
"""Writes what libphonenumber makes of phone numbers as people write them: the oracle that
`crates/clientele-core/tests/phones.rs` holds our parsing to.

The inputs are libphonenumber's own example numbers (tests/data/libphonenumber-example-numbers.csv),
each written the ways people write numbers: in E.164, in the international format, with the
national prefix kept after the country code out of habit (`+49 (0)30 ...`), with `00` instead of
`+`, and in the national format read in the number's own region. Each is parsed by the Python
port of libphonenumber (pinned in requirements.txt to the metadata version that the Rust port
we use bundles) in a default region, as a tenant's phone region would be.

Run from the repository root:

    python3 -m venv /tmp/phone-oracle && /tmp/phone-oracle/bin/pip install -r tools/phone-oracle/requirements.txt
    /tmp/phone-oracle/bin/python tools/phone-oracle/generate.py
"""

import csv
import os

import phonenumbers
from phonenumbers import PhoneNumberFormat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "crates", "clientele-core", "tests", "data")
SOURCE = os.path.join(DATA, "libphonenumber-example-numbers.csv")
TARGET = os.path.join(DATA, "phone-oracle.csv")

# Regions our tenants work in: the default region a number without a country code is read in.
DEFAULT_REGIONS = ["IT", "DE", "FR", "GB", "US", "CH", "AT", "ES"]


def expected(text, region):
    """libphonenumber's reading of `text` in `region`: E.164 when valid, else `invalid`."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "invalid"
    if not phonenumbers.is_valid_number(number):
        return "invalid"
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def forms(row, index):
    """The ways a person writes this example number, each with the default region to read it in."""
    cc = row["country_code"]
    national = row["example_national_number"]
    prefix = row["national_prefix"]
    region = row["region"]
    # A default region other than the number's own, varied over the rows.
    other = DEFAULT_REGIONS[index % len(DEFAULT_REGIONS)]
    yield row["e164"], other
    number = phonenumbers.parse(row["e164"], None)
    yield phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL), other
    yield "00" + cc + " " + national, "IT"
    if prefix:
        # The trunk prefix kept after the country code, as on German letterheads.
        yield "+" + cc + " (" + prefix + ") " + national, other
        yield "+" + cc + "(" + prefix + ")" + national, "IT"
        yield "00" + cc + " (" + prefix + ")" + national, "DE"
    if region != "001":
        yield phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL), region


def main():
    with open(SOURCE, newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    seen = set()
    out = []
    for index, row in enumerate(rows):
        for text, region in forms(row, index):
            if (text, region) in seen:
                continue
            seen.add((text, region))
            out.append((text, region, expected(text, region)))
    with open(TARGET, "w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(["input", "default_region", "expected"])
        writer.writerows(out)
    print(f"{len(out)} cases written to {os.path.relpath(TARGET, ROOT)} (phonenumbers {phonenumbers.__version__})")


if __name__ == "__main__":
    main()
