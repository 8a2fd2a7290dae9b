"""Reads one --report directory with the parsers the formats' consumers use and checks that
they all say the same of every case and every guest:
  junit.xml    junitparser (the JUnit reader of many CI dashboards)
  kcidb.json   kcidb-io's own schema validator (KCIDB v5.3), then its tests
  results.ktap kunit.py parse --json (the kernel tree's parser) and tappy (tap.py)
  report.html  the DOM headless Chromium rendered (--dump-dom), its data-status cells
  results.json the tool's own JSON
usage: check-reports.py REPORT_DIR KUNIT_DIR DOM_FILE"""

import json
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import junitparser
import kcidb_io
from tap.parser import Parser as TapParser

report, kunit, dom = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
problems = []


def from_junit():
    out = {}
    for suite in junitparser.JUnitXml.fromfile(str(report / "junit.xml")):
        guest = next(p.value for p in suite.properties() if p.name == "guest")
        for case in suite:
            key = (guest, "" if case.name == guest else case.name)
            kinds = {type(r).__name__ for r in case.result}
            out[key] = ("FAIL" if "Failure" in kinds else "ERROR" if "Error" in kinds else "SKIP" if "Skipped" in kinds else "PASS")
    return out


def from_kcidb():
    doc = json.loads((report / "kcidb.json").read_text())
    kcidb_io.schema.V5_3.validate_exactly(doc)
    out = {}
    for t in doc["tests"]:
        guest, _, case = t["path"].removeprefix("clone3_abi.").partition(".")
        out[(guest, case)] = t["status"]
    return out


def from_json():
    out = {}
    for d in json.loads((report / "results.json").read_text()):
        if "cases" not in d:
            out[(d["guest"], "")] = "FAIL" if "crashed" in d else "SKIP" if d.get("unavailable") else "ERROR"
            continue
        for c in d["cases"]:
            out[(d["guest"], c["id"])] = c["verdict"]["verdict"].upper()
    return out


def from_kunit():
    """kunit.py exits 1 when cases fail; its JSON is what counts."""
    with tempfile.NamedTemporaryFile(suffix=".json") as j:
        run = subprocess.run([sys.executable, str(kunit / "kunit.py"), "parse", f"--json={j.name}", str(report / "results.ktap")],
                             capture_output=True, text=True)
        text = Path(j.name).read_text()
        if not text:
            problems.append(f"kunit.py wrote no JSON: {run.stdout[-2000:]}{run.stderr[-2000:]}")
            return {}
        top = json.loads(text)
    out = {}
    for guest in top["sub_groups"]:
        for family in guest["sub_groups"]:
            for c in family["test_cases"]:
                out[(guest["name"], c["name"])] = c["status"]
    # A guest without results is a test case of the top level.
    for c in top["test_cases"]:
        out[(c["name"], "")] = c["status"]
    return out


def from_tappy():
    """tappy reads the column-0 lines: one result per guest."""
    out = {}
    for line in TapParser().parse_text((report / "results.ktap").read_text()):
        if line.category == "test":
            name = line.description.split(" ")[0]
            out[name] = "SKIP" if line.skip else "PASS" if line.ok else "FAIL"
    return out


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-status" in a:
            self.cells[(a["data-guest"], a["data-case"])] = a["data-status"]


def from_html():
    p = Cells()
    p.feed(dom.read_text())
    return p.cells


def compare(name, got, want):
    if got != want:
        diff = sorted(set(got.items()) ^ set(want.items()))[:10]
        problems.append(f"{name} disagrees with results.json on {len(set(got.items()) ^ set(want.items()))} entries, e.g. {diff}")


truth = from_json()
if not truth:
    problems.append("results.json holds no result")
no_error = {k: ("FAIL" if v == "ERROR" else v) for k, v in truth.items()}
compare("junit.xml (junitparser)", from_junit(), truth)
compare("kcidb.json (kcidb-io)", from_kcidb(), truth)
compare("results.ktap (kunit.py)", {k: ("FAIL" if v == "ERROR" else v) for k, v in from_kunit().items()}, no_error)
compare("report.html (Chromium DOM)", from_html(), {k: v for k, v in truth.items() if k[1]})
guests = {}
for (g, c), s in no_error.items():
    worst = guests.get(g, "SKIP" if not c and s == "SKIP" else "PASS")
    guests[g] = "FAIL" if "FAIL" in (worst, s) else worst
compare("results.ktap (tappy)", from_tappy(), guests)

for p in problems:
    print(f"check-reports: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
counts = {s: sum(1 for v in truth.values() if v == s) for s in ("PASS", "FAIL", "SKIP", "ERROR")}
print(f"check-reports: {report}: {len(truth)} results agree in JUnit, KCIDB (schema-valid), KTAP (kunit.py, tappy), HTML and JSON: {counts}")
