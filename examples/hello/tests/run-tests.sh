#!/bin/sh
# Runs the example's tests and writes a JUnit XML report on stdout.
bin=$1
pass=0; fail=0; cases=""
check() {
  name=$1; expected=$2; shift 2
  actual=$("$bin" "$@")
  if [ "$actual" = "$expected" ]; then
    pass=$((pass + 1)); cases="$cases<testcase classname=\"hello\" name=\"$name\" time=\"0.001\"/>"
  else
    fail=$((fail + 1)); cases="$cases<testcase classname=\"hello\" name=\"$name\" time=\"0.001\"><failure message=\"expected '$expected', got '$actual'\"/></testcase>"
  fi
}
check greets_the_world "$GREETING, world!"
check greets_by_name "$GREETING, cbuild!" cbuild
printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="hello" tests="%d" failures="%d">%s</testsuite>\n' \
  $((pass + fail)) "$fail" "$cases"
[ "$fail" -eq 0 ]
