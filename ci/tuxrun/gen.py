"""Run with the tuxrun venv's python: the LAVA job and device dictionary that tuxlava makes
for `tuxrun --device DEVICE --kernel K --rootfs R [--bios B]` (tuxlava's Job API, the code
tuxrun itself calls), written to OUT/definition.yaml and OUT/device.yaml.

  gen.py DEVICE KERNEL_URL ROOTFS_URL BIOS_URL|- OUT
"""
import sys
from pathlib import Path

from tuxlava.jobs import Job
from tuxrun.yaml import yaml_load

device, kernel, rootfs, bios, out = sys.argv[1:6]
out = Path(out)
out.mkdir(parents=True, exist_ok=True)
job = Job(device=device, kernel=kernel, rootfs=rootfs, bios=None if bios == "-" else bios,
          tmpdir=out)
job.initialize()
definition = job.render()
(out / "definition.yaml").write_text(definition)
context = yaml_load(definition).get("context", {})
(out / "device.yaml").write_text(job.device.device_dict(context))
