#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# The kselftest entry: clone3-abi's cases against the running kernel, judged by the model
# alone (a kernel tree's kernel has no snapshot of ours). KTAP on stdout, one line per case;
# exit 0 pass, 1 a difference, 4 skip (nothing could run here), 125 the tool could not test.
here=$(dirname "$0")
exec "$here/clone3-abi" run --ksft
