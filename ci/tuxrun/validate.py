#!/usr/bin/python3
"""Run with Debian's python3 (lava-common): LAVA's own schemas on a job and a device dictionary.

  validate.py JOB DEVICE
"""
import sys

import yaml
from lava_common.schemas import validate as validate_job
from lava_common.schemas.device import validate as validate_device

job, device = sys.argv[1:3]
bad = 0
for what, path, check in (("job (strict)", job, lambda d: validate_job(d, strict=True)),
                          ("device dictionary", device, validate_device)):
    try:
        check(yaml.safe_load(open(path)))
        print(f"valid {what}: {path}")
    except Exception as e:  # voluptuous.Invalid, with its path
        print(f"INVALID {what} {path}: {e}")
        bad = 1
sys.exit(bad)
