#!/bin/sh
# plugin_exports_test.sh PLUGIN.so...
#
# Checks ABI rules 1 and 6 on built plugins:
#   - `nm -D --defined-only` lists exactly one symbol, tiny_plugin_entry;
#   - `readelf -d` shows no NEEDED libprotobuf, libgrpc or libgpr.
# Prints one "FAIL: ..." line per problem, with the offending line, and
# exits 1 if there is any.
#
# plugin_exports_test.sh --expect-fail REGEX PLUGIN.so...
#   The self-test: passes iff the checks fail AND their output matches
#   REGEX (extended), so a checker that accepts everything cannot pass.
set -u

if [ "${1:-}" = "--expect-fail" ]; then
  [ $# -ge 3 ] || { echo "usage: $0 --expect-fail REGEX PLUGIN.so..." >&2; exit 2; }
  pattern=$2
  shift 2
  out=$("$0" "$@" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  if [ "$rc" -eq 0 ]; then
    echo "FAIL: expected the checks to fail on: $*" >&2
    exit 1
  fi
  if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
    echo "FAIL: the checks failed (exit $rc) but no line matches /$pattern/" >&2
    exit 1
  fi
  echo "ok: the checks rejected $* as expected (/$pattern/)"
  exit 0
fi

[ $# -ge 1 ] || { echo "usage: $0 PLUGIN.so..." >&2; exit 2; }
for tool in nm readelf; do
  command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool not found" >&2; exit 1; }
done

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

for so in "$@"; do
  if [ ! -f "$so" ]; then
    fail "$so: no such file"
    continue
  fi
  if ! symbols=$(nm -D --defined-only "$so" 2>&1); then
    fail "$so: nm -D failed: $symbols"
    continue
  fi
  # Lines are "ADDRESS TYPE NAME"; version-definition symbols (TYPE A)
  # would count as exports too, and are not expected either.
  count=0
  found_entry=0
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    count=$((count + 1))
    name=${line##* }
    if [ "$name" = "tiny_plugin_entry" ]; then
      found_entry=1
    else
      fail "$so: unexpected exported symbol: $line"
    fi
  done <<EOF_SYMBOLS
$symbols
EOF_SYMBOLS
  [ "$found_entry" -eq 1 ] || fail "$so: does not export tiny_plugin_entry (nm -D --defined-only listed $count symbols)"

  if ! dynamic=$(readelf -d "$so" 2>&1); then
    fail "$so: readelf -d failed: $dynamic"
    continue
  fi
  needed=$(printf '%s\n' "$dynamic" | grep '(NEEDED)')
  bad=$(printf '%s\n' "$needed" | grep -E 'lib(protobuf|grpc|gpr)')
  if [ -n "$bad" ]; then
    printf '%s\n' "$bad" | while IFS= read -r line; do
      echo "FAIL: $so: forbidden NEEDED entry: $line" >&2
    done
    failures=$((failures + 1))
  fi

  libs=$(printf '%s\n' "$needed" | sed -n 's/.*Shared library: \[\(.*\)\].*/\1/p' | tr '\n' ' ')
  echo "checked $so: exports tiny_plugin_entry only=$([ "$count" -eq 1 ] && [ "$found_entry" -eq 1 ] && echo yes || echo no); NEEDED: $libs"
done

if [ "$failures" -ne 0 ]; then
  echo "plugin_exports_test: $failures problem(s)" >&2
  exit 1
fi
echo "plugin_exports_test: $# plugin(s) ok"
