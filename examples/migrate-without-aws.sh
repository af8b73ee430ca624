#!/usr/bin/env bash
# The README's "Migrate a workflow, step by step", in one command and with no AWS account: starts
# the local testbed (its sample account plus registries standing in for quay.io, ghcr.io, Docker
# Hub, ECR Public and Seqera Wave), copies a small Nextflow pipeline whose eight images live on
# those five registries, and runs `prepare` (dry run), `prepare --apply`, `map` and `validate` on
# it, then `prepare --apply` once more; then stops everything. Each command is printed as typed,
# followed by its output and exit code; the script fails when an exit code is not the expected one.
# HEALTHOMICS_ECR_MCP_BIN=path uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if ! .venv/bin/python -c "import moto, werkzeug" 2>/dev/null; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
fi
if [ -z "${HEALTHOMICS_ECR_MCP_BIN:-}" ]; then
  cargo build --quiet
  HEALTHOMICS_ECR_MCP_BIN=$repo/target/debug/healthomics-ecr-mcp
fi

work=$(mktemp -d)
testbed=
cleanup() {
  # Closing the testbed's stdin stops it (and its registries); the kill is for a testbed that hangs.
  exec 3>&- 2>/dev/null || true
  if [ -n "$testbed" ]; then
    kill "$testbed" 2>/dev/null || true
    wait "$testbed" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/bin" "$work/demo" "$work/home"
ln -s "$HEALTHOMICS_ECR_MCP_BIN" "$work/bin/healthomics-ecr-mcp"
cp -R tests/workflows/prepare "$work/demo/pipeline"
mkfifo "$work/stdin"
.venv/bin/python tests/testbed/serve.py --seed-sample --seed-upstreams \
  --upstream-registries quay.io,ghcr.io,registry-1.docker.io,public.ecr.aws,community.wave.seqera.io \
  <"$work/stdin" >"$work/endpoints.json" 2>"$work/testbed.log" &
testbed=$!
exec 3>"$work/stdin"
for _ in $(seq 1 240); do
  [ -s "$work/endpoints.json" ] && break
  kill -0 "$testbed" 2>/dev/null || { cat "$work/testbed.log" >&2; echo "the testbed did not start" >&2; exit 1; }
  sleep 0.5
done
[ -s "$work/endpoints.json" ] || { echo "the testbed did not start in 120 s" >&2; exit 1; }

# The testbed's endpoint for every AWS call, the stand-ins for the upstream hosts, and none of
# this machine's AWS configuration.
eval "$(.venv/bin/python - "$work/endpoints.json" <<'PY'
import json, shlex, sys
testbed = json.load(open(sys.argv[1]))
mirrors = ",".join(f"{host}={url}" for host, url in testbed["upstreams"].items())
for name, value in {
    "AWS_ENDPOINT_URL": testbed["aws_endpoint"],
    "AWS_REGION": testbed["region"],
    "HEALTHOMICS_ECR_REGISTRY_MIRRORS": mirrors,
}.items():
    print(f"export {name}={shlex.quote(value)}")
PY
)"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
export HOME=$work/home
export PATH="$work/bin:$PATH"
cd "$work/demo"

# run EXIT_CODE COMMAND...: prints the command as typed, runs it, prints its exit code.
run() {
  local want=$1 got=0
  shift
  printf '$ %s\n' "$*"
  "$@" || got=$?
  printf '[exit %s]\n\n' "$got"
  if [ "$got" != "$want" ]; then
    echo "expected exit $want from: $*" >&2
    exit 1
  fi
}

echo "# 1. The plan: what the pipeline's images need. Changes nothing; exit 1 while something needs doing."
run 1 healthomics-ecr-mcp prepare pipeline
echo "# 2. GHCR needs credentials: the token goes in the environment, never on the command line."
echo '$ export HEALTHOMICS_ECR_TOKEN_GHCR_IO=<a GHCR token>'
export HEALTHOMICS_ECR_TOKEN_GHCR_IO=ghp_stand_in_token_never_printed
echo
run 0 healthomics-ecr-mcp prepare pipeline --credential ghcr.io=octo-ci --apply --output prepared.json
echo "# 3. An independent check: the map tool, started from that map, against what the account holds."
run 0 healthomics-ecr-mcp map pipeline --registry-map prepared.json --output map.json
echo "# 4. The whole setup with that map, as HealthOmics will use it."
run 0 healthomics-ecr-mcp validate --registry-map map.json
echo "# 5. Once more: nothing left to do."
run 0 healthomics-ecr-mcp prepare pipeline --credential ghcr.io=octo-ci --apply
echo "Done: map.json is the containerRegistryMap for aws omics create-workflow. Stopping the testbed."
