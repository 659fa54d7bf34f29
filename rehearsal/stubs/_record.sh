# Sourced by every stub: appends "tool<TAB>arg<TAB>arg..." to /.stubs/calls.log inside the sandbox.
STUB_STATE=/.stubs/state
mkdir -p "$STUB_STATE"
{
  printf '%s' "${0##*/}"
  printf '\t%s' "$@"
  printf '\n'
} >>/.stubs/calls.log
