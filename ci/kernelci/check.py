#!/usr/bin/python3
"""Helpers of ci/kernelci/check.sh, run with Debian's python3 (jinja2, lava-common).

  check.py render JOBS TEMPLATE_DIR KERNEL_DIR OUT   render every job of JOBS (jobs-clone3-abi.yaml)
                                                     for its platform as kernelci-core's LAVA
                                                     runtime does, into OUT/<job>.yaml; the
                                                     artefact URLs point at file:// stand-ins
                                                     under KERNEL_DIR/<guest>/{kernel,initramfs}
  check.py validate OUT LAVA_DIR FAMILIES            lava_common's strict job schema on each, and
                                                     its monitors equal ci/lava/qemu-<guest>.yaml's
                                                     (FAMILIES: `clone3-abi list` output)
  check.py kcidb-paths JOBS JOB LAVA_RESULTS         the KCIDB test paths KernelCI makes of a
                                                     lava-run's results (check.py lava-results
                                                     output of ci/lava) for JOB
  check.py report KCIDB_JSON [PATHS]                 kcidb-io's schema on a `run --report`
                                                     kcidb.json, every path clone3_abi.<guest>.
                                                     <family>.<case>; PATHS: those paths, exactly
"""
import json
import re
import sys
from pathlib import Path

# The platforms as kernelci-pipeline's config/platforms.yaml defines qemu-x86_64 and qemu-arm64
# (fixtures: the values a KernelCI instance passes), and the qemu-riscv64 this directory proposes.
PLATFORMS = {
    "qemu-x86_64": {"name": "qemu-x86_64", "base_name": "qemu", "arch": "x86_64", "boot_method": "qemu",
                    "context": {"arch": "x86_64", "cpu": "qemu64", "guestfs_interface": "ide"}},
    "qemu-arm64": {"name": "qemu-arm64", "base_name": "qemu", "arch": "arm64", "boot_method": "qemu",
                   "context": {"arch": "arm64", "cpu": "max,pauth-impdef=on",
                               "machine": "virt,virtualization=on,gic-version=3,mte=on",
                               "guestfs_interface": "virtio", "memory": "4G"}},
}
BRARCH = {"x86_64": "x86_64", "arm64": "arm64", "riscv64": "riscv"}


def load(path):
    import yaml

    with open(path) as f:
        return yaml.safe_load(f)


def render(jobs, template_dir, kernel_dir, out):
    import jinja2
    import yaml

    cfg = load(jobs)
    platforms = dict(PLATFORMS)
    for name, p in (cfg.get("platforms") or {}).items():
        platforms[name] = dict(p, name=name)
    # kernelci-core Runtime._get_template: a FileSystemLoader over the template paths
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([template_dir]))
    Path(out).mkdir(parents=True, exist_ok=True)
    for entry in cfg["scheduler"]:
        job = cfg["jobs"][entry["job"]]
        for pname in entry["platforms"]:
            plat = platforms[pname]
            params = dict(job["params"])
            guest = params["guest"]
            rootfs = cfg["rootfs"][params["rootfs_ref"]]
            # stand-ins for the files a lab serves (check.sh points them at real ones)
            params["ramdisk"] = f"file://{kernel_dir}/{guest}/initramfs.cpio.gz"
            assert "{brarch}" in rootfs["ramdisk"]
            node = {"id": "0123456789abcdef01234567", "name": entry["job"],
                    "data": {"kernel_revision": {"describe": "v6.12"}},
                    "artifacts": {"kernel": f"file://{kernel_dir}/{guest}/kernel"}}
            variables = {"node": node, "platform_config": plat, "device_type": plat.get("base_name") or pname,
                         "instanceid": "check", "instance_callback": "file:///dev/null",
                         "name": entry["job"], "runtime": "lava", **params}
            text = env.get_template(job["template"]).render(variables)
            # kernelci-core LavaRuntime.generate: a YAML round trip
            data = yaml.safe_load(text)
            with open(Path(out) / f"{entry['job']}.yaml", "w") as f:
                yaml.safe_dump(data, f, sort_keys=False)
            print(f"rendered {entry['job']} for {pname} (jinja2 {jinja2.__version__})")
    return 0


def families_of(listing):
    fams = []
    for line in open(listing):
        if line.strip():
            f = line.split()[0].split(".")[0]
            if f not in fams:
                fams.append(f)
    return fams


def validate(out, lava_dir, listing):
    from lava_common.schemas import validate as validate_job

    fams = families_of(listing)
    bad = 0
    for p in sorted(Path(out).glob("*.yaml")):
        job = load(p)
        guest = job["metadata"]["clone3_abi_guest"]
        try:
            validate_job(job, strict=True)
            print(f"valid LAVA job (lava_common.schemas.validate, strict): {p.name}")
        except Exception as e:
            print(f"INVALID {p.name}: {e}")
            bad = 1
        mons = job["actions"][2]["test"]["monitors"]
        names = [m["name"].partition("_")[2] for m in mons]
        if names != fams:
            print(f"{p.name}: monitor families {names} != clone3-abi list's {fams}")
            bad = 1
        ref = load(Path(lava_dir) / f"qemu-{guest}.yaml")["actions"][2]["test"]["monitors"]
        if [dict(m, name=m["name"].partition("_")[2]) for m in mons] != ref:
            print(f"{p.name}: monitors differ from ci/lava/qemu-{guest}.yaml")
            bad = 1
        else:
            print(f"{p.name}: {len(mons)} monitors, the same as ci/lava/qemu-{guest}.yaml's, named <index>_<family>")
    return bad


def kcidb_paths(jobs, job, lava_results):
    """KernelCI's mapping, restated: LAVA suite "<n>_<family>" -> node <family> (the text after
    the first "_"), its cases below it; node path [checkout, kbuild, job, family, case] -> KCIDB
    path: the job replaced by its kcidb_test_suite, joined with dots."""
    suite = load(jobs)["jobs"][job]["kcidb_test_suite"]
    for line in open(lava_results):
        if line.startswith("#") or not line.strip():
            continue
        name, result = line.split()
        lava_suite, _, case = name.partition(".")
        family = lava_suite.partition("_")[2]
        print(f"{suite}.{family}.{case} {result}")
    return 0


def report(path, paths=None):
    import kcidb_io

    data = json.load(open(path))
    kcidb_io.schema.V5_3.validate_exactly(data)
    print(f"valid KCIDB (kcidb_io.schema.V5_3.validate_exactly, kcidb-io): {path}")
    seg = r"[a-zA-Z0-9_-]+"
    pat = re.compile(rf"^clone3_abi\.{seg}\.{seg}\.{seg}$")
    tests = data.get("tests", [])
    bad = [t["path"] for t in tests if not pat.match(t.get("path", ""))]
    print(f"{len(tests)} tests, {len(bad)} paths not clone3_abi.<guest>.<family>.<case>: {bad[:5]}")
    rc = 1 if bad or not tests else 0
    if paths:
        want = {l.split()[0]: l.split()[1] for l in open(paths) if l.strip()}
        got = {t["path"] for t in tests}
        if set(want) != got:
            print(f"KernelCI's paths vs kcidb.json's: {len(set(want) - got)} only in KernelCI's "
                  f"({sorted(set(want) - got)[:3]}), {len(got - set(want))} only in kcidb.json's ({sorted(got - set(want))[:3]})")
            rc = 1
        else:
            print(f"the {len(got)} KCIDB paths KernelCI makes of the lava-run == kcidb.json's paths")
    return rc


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"render": render, "validate": validate, "kcidb-paths": kcidb_paths, "report": report}[cmd]
    sys.exit(fn(*args))
