#!/bin/sh
# Runs a clone3-abi command and reports each case of its KTAP to LAVA:
#   lava-test-case <case id> --result pass|fail|skip
# (`ok` pass, `not ok` fail, `# SKIP` skip; a case id is family.case, and LAVA's test shell
# keeps it as it is), then `lava-test-case clone3_abi_exit --result R --measurement CODE`
# for the command's exit code (0 pass; 4, nothing ran, and 125, cannot test: skip; else fail).
# usage: ktap-to-lava.sh CLONE3_ABI run --ksft      (any command that prints KTAP on stdout)
# POSIX sh only: a lab's rootfs may have no bash or python. Exits 0, as lava-test-case does;
# the verdicts are in the results.
set -u
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
ktap=$(mktemp)
trap 'rm -f "$ktap"' EXIT
rc=0
"$@" > "$ktap" || rc=$?
cat "$ktap"
while IFS= read -r line; do
  line=${line#"${line%%[! ]*}"}
  case $line in
    "not ok "*) result=fail; rest=${line#not ok } ;;
    "ok "*) result=pass; rest=${line#ok } ;;
    *) continue ;;
  esac
  rest=${rest#* }
  id=${rest%% *}
  # a family's or guest's closing line has no dot: not a case
  case $id in *.*) ;; *) continue ;; esac
  case $rest in *" # SKIP"*) result=skip ;; esac
  lava-test-case "$id" --result "$result"
done < "$ktap"
case $rc in
  0) result=pass ;;
  4|125) result=skip ;;
  *) result=fail ;;
esac
lava-test-case clone3_abi_exit --result "$result" --measurement "$rc"
exit 0
