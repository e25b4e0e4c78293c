"""The spreadsheet's columns: which header names which field, in English, in French, or mapped.

A header matches a field whatever its case, accents, spaces and punctuation (`E-mail grand
groupe`, `email Grand-Groupe`), by the template's English name (`corporate_email`), the French
template's (`examples/modele-import.csv`) or one of a few usual variants; `--map 'Header=field'`
names any other. The header row is found among the first rows of the sheet, so a title row above
it, merged over the columns, or a row of group headers (`Dates` over the stage dates) does not
get in the way. Values of the stage, outcome and language columns may be written in French too.
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from passerelle.intake.sheets import Cell

# field: (French template header, other names a tracking sheet uses)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "corporate": ("Grand groupe", ("Entreprise", "Groupe", "Corporate name")),
    "corporate_email": ("E-mail grand groupe", ("Contact grand groupe", "Mail grand groupe")),
    "startup": ("Start-up", ("Jeune pousse", "Startup name")),
    "startup_email": ("E-mail start-up", ("Contact start-up", "Mail start-up")),
    "startup_label": ("Label start-up", ("Label",)),
    "programme": ("Programme", ("Program",)),
    "topic": ("Sujet", ("Objet", "Sujet de la collaboration")),
    "sector": ("Secteur", ("Secteur d'activité",)),
    "owner_email": ("E-mail responsable", ("Responsable", "E-mail du responsable", "Owner")),
    "language": ("Langue", ()),
    "stage": ("Étape", ("Étape actuelle", "Stade")),
    "introduction_date": ("Date d'introduction", ()),
    "qualification_date": ("Date de qualification", ()),
    "pilot_date": ("Date de pilote", ("Date du pilote", "Date de début du pilote")),
    "evaluation_date": ("Date d'évaluation", ()),
    "deployment_date": ("Date de déploiement", ()),
    "outcome": ("Issue", ("Résultat",)),
    "closed_date": ("Date de clôture", ("Date de fin",)),
}
# What `passerelle export collaborations` adds for its readers: read, never imported.
EXPORT_ONLY: dict[str, str] = {
    "workflow_id": "Identifiant",
    "stage_since": "Depuis",
    "stalled": "En retard",
    "paused": "En pause",
    "last_event": "Dernier événement",
    "last_event_at": "Date du dernier événement",
    "reminders": "Relances",
    "escalations": "Escalades",
    "playbook": "Playbook",
    "days_to_poc": "Jours jusqu'au PoC",
    "days_pilot_to_decision": "Jours du pilote à la décision",
    "days_to_first_meeting": "Jours jusqu'à la première réunion",
    "steps_held": "Étapes tenues",
    "steps_postponed": "Étapes reportées",
    "steps_cancelled": "Étapes annulées",
    "steps_missed": "Étapes manquées",
}
DATE_FIELDS = frozenset(f for f in FIELDS if f.endswith("_date"))
# French (and English) words for the values of the columns with a fixed vocabulary.
VALUES: dict[str, dict[str, str]] = {
    "stage": {"pilote": "pilot", "evaluation": "evaluation", "deploiement": "deployment"},
    "outcome": {
        "deploye": "deployed",
        "refuse": "declined",
        "decline": "declined",
        "abandonne": "abandoned",
        "abandon": "abandoned",
    },
    "language": {"francais": "fr", "french": "fr", "anglais": "en", "english": "en"},
}
HEADER_ROWS = 20  # the header is one of the sheet's first rows


def normal(text: str) -> str:
    """Return `text` without case, accents, spaces or punctuation: the key headers match by."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in folded if ch.isalnum())


def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name, (french, others) in FIELDS.items():
        for written in (name, french, *others):
            names[normal(written)] = name
    for name, french in EXPORT_ONLY.items():
        names[normal(name)] = names[normal(french)] = name
    return names


NAMES = _names()


def french_header(name: str) -> str:
    """Return the French template's header of a field or an export column."""
    return FIELDS[name][0] if name in FIELDS else EXPORT_ONLY[name]


def _sector(text: str) -> str:
    """Return a sector as its slug when only case, accents and spaces keep it from being one."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return "-".join(plain.replace("_", " ").split()) if plain.isascii() else text


def value_of(name: str, text: str) -> str:
    """Return a cell's value in the import's vocabulary (`Pilote` → `pilot`, `Santé` → `sante`)."""
    if name == "sector":
        return _sector(text)
    words = VALUES.get(name)
    return words.get(normal(text), text) if words else text


def parse_maps(maps: Iterable[str]) -> dict[str, str]:
    """Return `--map 'Header=field'` options as {normalised header: field}; ValueError if wrong."""
    found: dict[str, str] = {}
    for item in maps:
        header, sep, name = item.rpartition("=")
        name = name.strip()
        if not sep or not header.strip():
            raise ValueError(f"--map {item!r}: write it as 'Header as written=field'")
        if name not in FIELDS:
            raise ValueError(f"--map {item!r}: {name!r} is not a field; fields: {', '.join(FIELDS)}")
        found[normal(header)] = name
    return found


@dataclass
class Header:
    """The header row: which column holds which field, and the header each was written as."""

    row: int
    fields: dict[int, str] = field(default_factory=dict)  # column index → field
    written: dict[str, str] = field(default_factory=dict)  # field → header as written
    unknown: list[str] = field(default_factory=list)  # headers as written that name nothing
    repeated: list[tuple[str, str]] = field(default_factory=list)  # (header, field it repeats)

    def column(self, name: str) -> str:
        """Return the header as written of a field (the template's name when it has no column)."""
        return self.written.get(name, name)


def read_header(row: int, cells: list[Cell], maps: dict[str, str]) -> Header:
    """Return what the header row `cells` says."""
    header = Header(row)
    for index, cell in enumerate(cells):
        written = "" if cell is None else str(cell).strip()
        if not written:
            continue  # an empty column, or the tail of a merged header cell
        name = maps.get(normal(written)) or NAMES.get(normal(written))
        if name is None:
            header.unknown.append(written)
        elif name in header.written:
            header.repeated.append((written, name))
        else:
            header.fields[index] = name
            header.written[name] = written
    return header


def known_count(cells: list[Cell], maps: dict[str, str]) -> int:
    """Return how many cells of a row name a field: the header row is the row with the most."""
    return sum(1 for c in cells if isinstance(c, str) and (normal(c) in maps or normal(c) in NAMES))
