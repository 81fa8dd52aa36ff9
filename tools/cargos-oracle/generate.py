#!/usr/bin/env python3
"""Agreement data for our Ca.R.G.O.S. formatter, made by an independent mapper.

The Python package `cargos-api` 0.2.4 (MIT licence) has its own implementation of the
1505-character contract record (`CargosRecordMapper`). This script draws 1,000 deterministic
pseudo-random contracts (seed 15, after issue 15), has `cargos-api` format each one, and writes
the contract (in the JSON shape of our `CargosContract`) with the record it produced, one JSON
object per line. The Rust test `crates/clientele-core/tests/cargos/agreement.rs` formats the same
contracts and compares the records character by character.

    python3 -m venv /tmp/cargos-venv
    /tmp/cargos-venv/bin/pip install -r tools/cargos-oracle/requirements.txt
    /tmp/cargos-venv/bin/python tools/cargos-oracle/generate.py

Where `cargos-api` and the specification (`shared/specs/cargos.md`) differ, our formatter
follows the specification; those cases are not silently dropped but written as extra lines
marked with a "divergence" object naming the difference, the reason, and what our side does
instead, and the Rust test checks exactly that:

- `no_time_zone`: cargos-api writes the wall-clock time of whatever offset it is given and never
  converts to Europe/Rome (spec §3, §7.9). For the 1,000 agreeing contracts this script converts
  each UTC instant to Rome time itself, with Python's `zoneinfo` and the pinned IANA `tzdata`, so
  they also check our own summer-time rule independently; the divergence lines pass the UTC
  instant as `...Z` and show the records then differ in the date-time fields only.
- `no_transliteration`: cargos-api writes text as given; characters outside a field's set
  (`é`, `-` in a name) would be refused by the police server. We transliterate as the spec allows.
- `truncation`: cargos-api cuts a value longer than its field without a word; we refuse it.
- `second_driver_contact_optional`: cargos-api accepts a second driver without a contact; the
  manual makes every second-driver field required, so we refuse it.
- `no_code_or_length_checks`: cargos-api accepts codes missing from the tables and values under
  the manual's minimum lengths; we refuse them.
- `email_contact`: cargos-api writes an e-mail address as a contact; set 6 has no `@`, so we refuse.

(Not in this file: cargos-api requires an API key of exactly 48 characters, the manual "at least
48", the rest ignored; our `CargosApiKey` follows the manual.)

Records are stored with runs of three or more spaces written as `~N~` (`~` is in no character
set, so it never occurs in a record) to keep the file small; the test expands them back.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.resources
import json
import random
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import tzdata  # noqa: F401  (pinned: the zone rules come from it, not from the system)
from cargos_api import CargosRecordMapper
from cargos_api import models as m

SEED = 15
CONTRACTS = 1000
OUT = Path(__file__).resolve().parents[2] / "crates/clientele-core/tests/cargos/cargos-api-records.jsonl"

ITALY, STATELESS = "100000100", "100000999"


def rome_zone() -> ZoneInfo:
    """Europe/Rome from the pinned tzdata package, never from the system's zoneinfo."""
    with importlib.resources.files("tzdata.zoneinfo").joinpath("Europe/Rome").open("rb") as f:
        return ZoneInfo.from_file(f, key="Europe/Rome")


ROME = rome_zone()


def table(name: str) -> list[dict[str, str]]:
    text = importlib.resources.files("cargos_api").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def end_date(row: dict[str, str]) -> date | None:
    text = row["DataFineVal"].strip()
    return datetime.strptime(text[:10], "%d/%m/%Y").date() if text else None


PLACES = table("luoghi.csv")
PAYMENT = [r["ID"] for r in table("tipo_pagamento.csv")]
VEHICLE = [r["ID"] for r in table("tipo_veicolo.csv")]
DOCUMENT = [r["CODICE"] for r in table("tipo_documento.csv")]
# Places valid today, other than ITALIA and APOLIDE: pick-up, return, agency, residence.
CURRENT = [r["Codice"] for r in PLACES if not r["DataFineVal"] and r["Codice"] not in (ITALY, STATELESS)]
# Any place ever (issuing places need only exist).
EVER = [r["Codice"] for r in PLACES if r["Codice"] not in (ITALY, STATELESS)]
STATES = [r["Codice"] for r in PLACES if r["Provincia"] == "ES" and not r["DataFineVal"]]
# Birth places with the last day each was valid; suppressed ones only if they lasted past 1940.
BIRTHS = [
    (r["Codice"], end_date(r))
    for r in PLACES
    if r["Codice"] not in (ITALY, STATELESS) and (end_date(r) is None or end_date(r).year >= 1940)
]

# Text already inside each field's character set, so that neither side changes it. Only the
# lower-case accents the manual lists: an upper-case Ö is outside the set as written, and our
# side writes it as O (a choice of ours, where the specification could not say; not cargos-api's).
SURNAMES = ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
            "Greco", "Bruno", "Gallo", "Conti", "De Luca", "D'Angelo", "Dell'Acqua", "Lo Russo", "Müller",
            "Schäfer", "Strauß", "Köhler", "Nicolò", "Cantù", "Pellè", "Mastrolà", "O'Brien", "van der Berg",
            "Smith", "Nowak", "Ozturk", "Dupont", "Garcia", "Jürgens", "Di Stefano", "Sant'Elia"]
NAMES = ["Mario", "Giulia", "Nicolò", "Niccolò", "Jürgen", "Björn", "Jörg", "Anna Maria", "Maria Grazia",
         "Gianluca", "Pierluigi", "Luca", "Francesca", "Chiara", "Giuseppe", "John", "Ana", "Lea",
         "Ursula", "Günther", "Dörte", "Tomàs", "Mattia", "Noè", "Salvatore", "Zoe"]
STREETS = ["Via Roma", "Piazza Duca d'Aosta", "Corso Vittorio Emanuele II", "Viale Europa", "Via dell'Università",
           "Largo Fiumicino", "Lungotevere Ripa", "Strada Statale 16 km", "Via Nazionale", "Via Garibaldi",
           "Piazza San Marco", "Via Marsala", "Viale Città d'Europa", "Borgo Pinti", "Via Tiburtina km"]
CITIES = ["Roma", "Milano", "Napoli", "Torino", "Forlì", "Cantù", "Bari", "München", "Genova"]
VEHICLES = [("Fiat", "Panda 1.2"), ("Alfa Romeo", "Giulietta"), ("Volkswagen", "Golf 2.0 TDI"),
            ("Mercedes Benz", "Classe A 180"), ("Renault", "Clio"), ("Toyota", "Yaris Hybrid"),
            ("Iveco", "Daily 35S14"), ("Ford", "Transit Custom"), ("Peugeot", "208"), ("Jeep", "Renegade"),
            ("Lancia", "Ypsilon"), ("Dacia", "Sandero Stepway"), ("BMW", "Serie 3 320d"), ("Audi", "A4 Avant")]
COLOURS = ["Bianco", "Nero", "Grigio metallizzato", "Rosso", "Blu", "Verde", "Argento", "Bordeaux",
           "Grigio antracite", "Blu notte", "Giallo", "Bianco perla", "Caffè"]
AGENCY_NAMES = ["Rent Go Roma", "Autonoleggio Rossi s.r.l.", "Noleggi D'Amico", "Car Rental Milano, Linate",
                "Autonoleggi Sud", "Van Hire Bologna", "Rent 24-7"]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


def pick(rng: random.Random, items):
    return items[rng.randrange(len(items))]


def word(rng: random.Random, alphabet: str, lo: int, hi: int) -> str:
    return "".join(pick(rng, alphabet) for _ in range(rng.randint(lo, hi)))


def fit(text: str, width: int) -> str:
    """`text` cut to `width` characters, then stripped of trailing spaces, as our input."""
    return text[:width].rstrip()


def person_name(rng: random.Random, pool: list[str], width: int) -> str:
    if rng.random() < 0.03:  # the full width, to test the edge
        return fit(pick(rng, pool) + " " + "a" * width, width)
    parts = [pick(rng, pool) for _ in range(rng.choice([1, 1, 1, 2]))]
    return fit(" ".join(parts), width)


def address(rng: random.Random) -> str:
    text = f"{pick(rng, STREETS)} {rng.randint(1, 250)}"
    if rng.random() < 0.4:
        text += f", {pick(rng, CITIES)}"
    if rng.random() < 0.02:
        text += " " + "x" * 150
    return fit(text, 150)


def identifier(rng: random.Random, lo: int, hi: int, separators: str) -> str:
    """Letters and digits with at most single separators inside: set 3 or 4 text no side alters."""
    core = word(rng, LETTERS + DIGITS, lo, hi)
    if len(core) > 4 and rng.random() < 0.3:
        at = rng.randint(2, len(core) - 2)
        core = core[:at] + pick(rng, separators) + core[at:]
    return core[:hi]


def contract_id(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.5:
        return f"CTR-{rng.randint(2019, 2030)}-{rng.randint(1, 999999):06d}"
    if choice < 0.7:
        return f"Contratto{rng.randint(1, 9999)}"
    if choice < 0.8:
        return f"N. {rng.randint(1, 999)}, {pick(rng, ['Roma', 'Milano', 'Bari'])}"
    if choice < 0.85:
        return "R" + word(rng, DIGITS, 49, 49)
    return identifier(rng, 3, 48, "-.,' ")


def phone_digits(rng: random.Random, lo: int, hi: int) -> str:
    return word(rng, DIGITS, lo, hi)


def contact(rng: random.Random) -> str:
    return pick(rng, ["+39", "+49", "0039", "", "+33"]) + pick(rng, ["", "."]) + phone_digits(rng, 6, 12)


def dst_edge(rng: random.Random) -> datetime:
    """An instant within a few minutes of a summer-time change (last Sunday of March/October, 01:00 UTC)."""
    year, month = rng.randint(2019, 2030), rng.choice([3, 10])
    day = max(d for d in range(25, 32) if date(year, month, d).weekday() == 6)
    return datetime(year, month, day, 1, 0, tzinfo=timezone.utc) + timedelta(seconds=rng.randint(-600, 600))


def instant(rng: random.Random) -> datetime:
    if rng.random() < 0.1:
        return dst_edge(rng)
    start = datetime(2019, 1, 1, tzinfo=timezone.utc)
    return start + timedelta(seconds=rng.randrange(12 * 365 * 86400))


def birth(rng: random.Random) -> tuple[str, date]:
    code, until = pick(rng, BIRTHS)
    hi = min(until or date(2005, 12, 31), date(2005, 12, 31))
    lo = max(date(1925, 1, 1), hi - timedelta(days=60 * 365))
    return code, lo + timedelta(days=rng.randrange((hi - lo).days + 1))


def utc_text(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rome_text(at: datetime) -> str:
    """The Rome wall-clock time of `at`, without offset: what cargos-api is given."""
    return at.astimezone(ROME).replace(tzinfo=None).isoformat()


def draw_contract(rng: random.Random) -> dict:
    """A valid contract in the JSON shape of our CargosContract."""
    contract_at = instant(rng)
    pickup_at = contract_at + timedelta(seconds=rng.randrange(30 * 86400))
    dropoff_at = pickup_at + timedelta(seconds=rng.randrange(40 * 86400))
    make, model = pick(rng, VEHICLES)
    birth_place, birth_date = birth(rng)
    driver = {
        "surname": person_name(rng, SURNAMES, 50),
        "name": person_name(rng, NAMES, 30),
        "birth_date": birth_date.isoformat(),
        "birth_place_code": birth_place,
        "citizenship_code": pick(rng, STATES) if rng.random() < 0.5 else ITALY,
        "residence_place_code": "",
        "residence_address": "",
        "id_document_type": pick(rng, DOCUMENT),
        "id_document_number": identifier(rng, 5, 20, "-. "),
        "id_document_place_code": pick(rng, CURRENT if rng.random() < 0.8 else EVER),
        "licence_number": identifier(rng, 5, 20, "-. "),
        "licence_place_code": pick(rng, CURRENT if rng.random() < 0.8 else EVER),
        "contact": contact(rng) if rng.random() < 0.7 else "",
    }
    if rng.random() < 0.6:
        driver["residence_place_code"] = pick(rng, CURRENT)
        driver["residence_address"] = address(rng)
    second = None
    if rng.random() < 0.3:
        second_place, second_birth = birth(rng)
        second = {
            "surname": person_name(rng, SURNAMES, 50),
            "name": person_name(rng, NAMES, 30),
            "birth_date": second_birth.isoformat(),
            "birth_place_code": second_place,
            "citizenship_code": pick(rng, STATES),
            "id_document_type": pick(rng, DOCUMENT),
            "id_document_number": identifier(rng, 1, 20, "-. "),
            "id_document_place_code": pick(rng, EVER),
            "licence_number": identifier(rng, 5, 20, "-. "),
            "licence_place_code": pick(rng, CURRENT),
            "contact": contact(rng),
        }
    return {
        "contract_id": contract_id(rng),
        "contract_at": utc_text(contract_at),
        "payment_type": pick(rng, PAYMENT),
        "pickup": {"at": utc_text(pickup_at), "place_code": pick(rng, CURRENT), "address": address(rng)},
        "dropoff": {"at": utc_text(dropoff_at), "place_code": pick(rng, CURRENT), "address": address(rng)},
        "operator_id": pick(rng, ["op.rossi", "OPERATORE 12", "m.bianchi", "SYSTEM", "desk-3"]),
        "agency": {
            "id": pick(rng, ["AG-001", "RM01", "AGENZIA 7", "MI.LIN.02"]),
            "name": pick(rng, AGENCY_NAMES),
            "place_code": pick(rng, CURRENT),
            "address": address(rng),
            "phone": phone_digits(rng, 6, 20),
        },
        "vehicle": {
            "type_code": pick(rng, VEHICLE),
            "make": make,
            "model": model,
            "plate": identifier(rng, 4, 15, "-. "),
            "colour": pick(rng, COLOURS) if rng.random() < 0.8 else "",
            "gps": rng.choice([None, True, False]),
            "immobiliser": rng.choice([None, True, False]),
        },
        "driver": driver,
        "second_driver": second,
    }


def instant_for_cargos_api(text: str, utc: bool) -> str:
    at = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return text if utc else rome_text(at)


def cargos_api_record(c: dict, utc: bool = False) -> str:
    """The record cargos-api formats for contract `c` (our JSON shape)."""
    code = lambda text: int(text) if text else None  # noqa: E731  (cargos-api takes codes as ints)
    d, s, a, v = c["driver"], c["second_driver"], c["agency"], c["vehicle"]
    residence = None
    if d["residence_place_code"] or d["residence_address"]:
        residence = m.Address(location_code=code(d["residence_place_code"]), street=d["residence_address"])
    booking = m.BookingData(
        contract_id=c["contract_id"],
        contract_datetime=instant_for_cargos_api(c["contract_at"], utc),
        payment_type_code=c["payment_type"],
        checkout_datetime=instant_for_cargos_api(c["pickup"]["at"], utc),
        checkout_place=m.Address(location_code=code(c["pickup"]["place_code"]), street=c["pickup"]["address"]),
        checkin_datetime=instant_for_cargos_api(c["dropoff"]["at"], utc),
        checkin_place=m.Address(location_code=code(c["dropoff"]["place_code"]), street=c["dropoff"]["address"]),
        operator=m.Operator(id=c["operator_id"], agency_id=a["id"], agency_name=a["name"],
                            agency_place_code=code(a["place_code"]), agency_address=a["address"],
                            agency_phone=a["phone"]),
        car=m.Car(type_code=v["type_code"], brand=v["make"], model=v["model"], plate=v["plate"],
                  color=v["colour"] or None, has_gps=v["gps"], has_immobilizer=v["immobiliser"]),
        customer=m.Customer(surname=d["surname"], name=d["name"], birth_date=d["birth_date"],
                            birth_place_code=code(d["birth_place_code"]),
                            citizenship_code=code(d["citizenship_code"]), residence=residence,
                            id_doc_type_code=d["id_document_type"], id_doc_number=d["id_document_number"],
                            id_doc_issuing_place_code=code(d["id_document_place_code"]),
                            driver_licence_number=d["licence_number"],
                            driver_licence_issuing_place_code=code(d["licence_place_code"]),
                            contact=d["contact"] or None),
        second_driver=None if s is None else m.SecondDriver(
            surname=s["surname"], name=s["name"], birth_date=s["birth_date"],
            birth_place_code=code(s["birth_place_code"]), citizenship_code=code(s["citizenship_code"]),
            id_doc_type_code=s["id_document_type"], id_doc_number=s["id_document_number"],
            id_doc_issuing_place_code=code(s["id_document_place_code"]),
            driver_licence_number=s["licence_number"],
            driver_licence_issuing_place_code=code(s["licence_place_code"]),
            contact=s["contact"] or None),
    )
    record = CargosRecordMapper().build_record(booking)
    assert len(record) == 1505, len(record)
    return record


def squeeze(record: str) -> str:
    """Runs of three or more spaces as `~N~`."""
    assert "~" not in record
    out, i = [], 0
    while i < len(record):
        j = i
        while j < len(record) and record[j] == " ":
            j += 1
        if j - i >= 3:
            out.append(f"~{j - i}~")
            i = j
        elif j > i:
            out.append(record[i:j])
            i = j
        else:
            out.append(record[i])
            i += 1
    return "".join(out)


def divergences(rng: random.Random) -> list[tuple[dict, dict, bool]]:
    """(contract, divergence, pass UTC instants to cargos-api) for each documented difference."""
    rows = []
    for _ in range(3):
        c = draw_contract(rng)
        rows.append((c, {
            "kind": "no_time_zone",
            "reason": "cargos-api writes the given offset's wall-clock time; the spec wants Europe/Rome",
            "differing_columns": ["CONTRATTO_DATA", "CONTRATTO_CHECKOUT_DATA", "CONTRATTO_CHECKIN_DATA"],
        }, True))
    for surname, name in [("Rossi-Bianchi", "José"), ("Núñez", "Renée-Claire"), ("D’Amico", "Zoë")]:
        c = draw_contract(rng)
        c["driver"]["surname"], c["driver"]["name"] = surname, name
        rows.append((c, {
            "kind": "no_transliteration",
            "reason": "cargos-api writes characters outside the field's set, which the police refuse",
            "differing_columns": ["CONDUCENTE_CONTRAENTE_COGNOME", "CONDUCENTE_CONTRAENTE_NOME"],
        }, False))
    for field, value in [("contract_id", "C" * 60), ("plate", "AB123CD45678901XYZ")]:
        c = draw_contract(rng)
        if field == "plate":
            c["vehicle"]["plate"] = value
        else:
            c[field] = value
        rows.append((c, {
            "kind": "truncation",
            "reason": "cargos-api cuts a value longer than its field without a word; we refuse it",
            "our_problems": [["vehicle.plate" if field == "plate" else field, "too_long"]],
        }, False))
    c = draw_contract(rng)
    c["second_driver"] = draw_contract(rng)["second_driver"] or draw_second(rng)
    c["second_driver"]["contact"] = ""
    rows.append((c, {
        "kind": "second_driver_contact_optional",
        "reason": "the manual makes every second-driver field required, its contact included",
        "our_problems": [["second_driver.contact", "required"]],
    }, False))
    c = draw_contract(rng)
    c["payment_type"], c["vehicle"]["plate"], c["driver"]["id_document_type"] = "7", "AB1", "CI"
    rows.append((c, {
        "kind": "no_code_or_length_checks",
        "reason": "cargos-api checks neither the code tables nor the manual's minimum lengths",
        "our_problems": [["payment_type", "unknown_reference"], ["vehicle.plate", "too_short"],
                         ["driver.id_document_type", "unknown_reference"]],
    }, False))
    c = draw_contract(rng)
    c["driver"]["contact"] = "mario.rossi@example.com"
    rows.append((c, {
        "kind": "email_contact",
        "reason": "set 6 has no '@': an e-mail address cannot be a contact",
        "our_problems": [["driver.contact", "invalid"]],
    }, False))
    return rows


def draw_second(rng: random.Random) -> dict:
    while True:
        second = draw_contract(rng)["second_driver"]
        if second is not None:
            return second


def main() -> None:
    rng = random.Random(SEED)
    meta = {
        "meta": "contracts formatted by cargos-api; see tools/cargos-oracle/generate.py",
        "cargos_api": importlib.metadata.version("cargos-api"),
        "tzdata": importlib.metadata.version("tzdata"),
        "seed": SEED,
        "contracts": CONTRACTS,
    }
    lines = [json.dumps(meta, ensure_ascii=False)]
    for n in range(CONTRACTS):
        c = draw_contract(rng)
        lines.append(json.dumps({"n": n, "contract": c, "record": squeeze(cargos_api_record(c))},
                                ensure_ascii=False, separators=(",", ":")))
    for n, (c, divergence, utc) in enumerate(divergences(rng), start=CONTRACTS):
        lines.append(json.dumps({"n": n, "contract": c, "record": squeeze(cargos_api_record(c, utc)),
                                 "divergence": divergence}, ensure_ascii=False, separators=(",", ":")))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines) - 1} records to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
