#!/bin/sh
# expect_failure.sh REGEX COMMAND...: passes when COMMAND exits non-zero and its output (stdout
# and stderr) matches REGEX (extended grep), i.e. a user gets a clear message and an error status.
regex=$1
shift
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if [ "$status" -eq 0 ]; then
  echo "expect_failure: '$*' exited 0; a non-zero exit was expected" >&2
  exit 1
fi
if ! printf '%s\n' "$output" | grep -Eq -- "$regex"; then
  echo "expect_failure: output does not match /$regex/" >&2
  exit 1
fi
exit 0
