#!/usr/bin/python3
"""Helpers of ci/lava/check.sh, run with Debian's python3 (where lava-common lives).

  check.py validate DIR TEMPLATES DEVICE      every job and test definition in DIR, and the
                                              device dictionary DEVICE rendered for each job,
                                              with LAVA's own validators
  check.py device JOB TEMPLATES DEVICE OUT [COMMAND]
                                              render DEVICE (a device dictionary) the way
                                              lava-server does for JOB; COMMAND replaces the
                                              QEMU binary (a fake console)
  check.py localize JOB KERNEL INITRD OUT     JOB with its two file:// URLs pointing at files here
  check.py lava-results LOG                   `suite.case result` per test case of a lava-run log,
                                              then `# timing` lines
  check.py ktap FILE                          `id result` per case line of a KTAP file
  check.py compare A B                        two such listings must agree case by case
"""
import re
import sys

import yaml


def templates_env(templates):
    # As lava_scheduler_app/environment.py sets up its device environment.
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=jinja2.FileSystemLoader([templates]), autoescape=False, trim_blocks=True)


def render_device(job, templates, device):
    # As Device.load_configuration(job_ctx): the dictionary rendered with the job's context.
    ctx = (job.get("context") or {})
    return templates_env(templates).from_string(open(device).read()).render(**ctx)


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def validate(d, templates, device):
    import pathlib

    from lava_common.schemas import validate as validate_job
    from lava_common.schemas.device import validate as validate_device
    from lava_common.schemas.test.testdef import validate as validate_testdef

    bad = 0
    for p in sorted(pathlib.Path(d).glob("*.yaml")):
        data = load(p)
        try:
            if "metadata" in data:
                validate_testdef(data)
                print(f"valid test definition (lava_common.schemas.test.testdef): {p.name}")
            else:
                validate_job(data, strict=True)
                print(f"valid job (lava_common.schemas.validate, strict): {p.name}")
                validate_device(yaml.safe_load(render_device(data, templates, device)))
                print(f"valid device dictionary for it (lava_common.schemas.device): {device}")
        except Exception as e:  # voluptuous.Invalid, with its path
            print(f"INVALID {p}: {e}")
            bad = 1
    return bad


def device_cmd(job, templates, device, out, command=None):
    data = yaml.safe_load(render_device(load(job), templates, device))
    if command:
        data["actions"]["boot"]["methods"]["qemu"]["parameters"]["command"] = command
    with open(out, "w") as f:
        yaml.safe_dump(data, f)
    return 0


def localize(job, kernel, initrd, out):
    data = load(job)
    images = data["actions"][0]["deploy"]["images"]
    images["kernel"]["url"] = "file://" + kernel
    images["initrd"]["url"] = "file://" + initrd
    with open(out, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return 0


def lava_results(log):
    from datetime import datetime

    t = lambda s: datetime.fromisoformat(s).timestamp()
    first = start = last = None
    for line in open(log):
        line = line.strip()
        if not line.startswith("- {") and not line.startswith("{"):
            continue
        e = yaml.safe_load(line.removeprefix("- "))
        if not isinstance(e, dict):
            continue
        msg = e.get("msg")
        if start is None and isinstance(msg, str) and msg.startswith("start: ") and "execute-qemu" in msg:
            start = t(e["dt"])
        if e.get("lvl") == "results" and isinstance(msg, dict):
            if msg.get("definition") == "lava":
                print(f"# lava {msg['case']} {msg['result']}")
                continue
            print(f"{msg['definition']}.{msg['case']} {msg['result']}")
            first = first or t(e["dt"])
            last = t(e["dt"])
    if start and first:
        print(f"# timing: qemu started to first result {first - start:.1f} s, to last {last - start:.1f} s")
    return 0


def ktap(path):
    for line in open(path, errors="replace"):
        m = re.match(r"^\s*(not ok|ok) \d+ (\S+\.\S+)(.*)$", line.rstrip("\r\n"))
        if not m:
            continue
        status, cid, rest = m.groups()
        result = "skip" if re.match(r"\s*#\s*SKIP", rest) else ("fail" if status == "not ok" else "pass")
        print(cid, result)
    return 0


def listing(path):
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        cid, result = line.split()
        if cid in out:
            print(f"duplicate case {cid} in {path}")
            out[cid + "#dup"] = result
        out[cid] = result
    return out


def compare(a, b):
    x, y = listing(a), listing(b)
    bad = 0
    for cid in sorted(set(x) | set(y)):
        if x.get(cid) != y.get(cid):
            print(f"MISMATCH {cid}: {x.get(cid, 'missing')} ({a}) vs {y.get(cid, 'missing')} ({b})")
            bad = 1
    counts = lambda d: {r: sum(1 for v in d.values() if v == r) for r in ("pass", "fail", "skip")}
    print(f"{len(x)} cases {counts(x)} in {a}; {len(y)} cases {counts(y)} in {b}: {'differ' if bad or not x else 'same'}")
    return 1 if bad or not x else 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"validate": validate, "device": device_cmd, "localize": localize, "lava-results": lava_results,
          "ktap": ktap, "compare": compare}[cmd]
    sys.exit(fn(*args))
