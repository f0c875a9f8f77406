#!/usr/bin/env bash
# The container image, built and run (issue 21). Two commands, each a Makefile target:
#
#   tools/image.sh build   make image: the Dockerfile built with docker (when its engine answers) or podman.
#   tools/image.sh check   make image-check: the real Dockerfile, unchanged, built with podman and then run in a
#                          chroot as the image's user with the image's environment: train, serve (/ready and a
#                          /predict), the image's HEALTHCHECK, and writes outside the data layers refused.
#
# Where the base images cannot be pulled (this project's CI machine reaches package registries only), `check` builds
# local stand-ins and tags them with the exact names of the Dockerfile's FROM lines:
#   python:X.Y-slim-SUITE   a Debian SUITE root filesystem (mmdebstrap) with Debian's pythonX.Y, `python`, `python3`
#                           and `pythonX.Y` in /usr/local/bin (where the official image has them), and the official
#                           image's PATH, LANG and PYTHON_VERSION. Not in it: pip (the Dockerfile installs with uv).
#   ghcr.io/astral-sh/uv:V  /uv and /uvx from uv's own wheel on PyPI (the static musl build, as in uv's image).
# One addition, only where the host trusts extra CAs (/usr/local/share/ca-certificates: a TLS-inspecting proxy, as
# here): the python stand-in trusts them too, and /etc/uv/uv.toml tells uv to use the system's certificates; the
# image's environment is not changed for it. A stand-in carries the label churn-maturity.stand-in, and so does an
# image built on it.
#
# The run needs root (podman's store, chroot, mounts) and util-linux's unshare: the checks run in private mount, PID
# and network namespaces (loopback only: `train` proves it needs no network; port 8000 is the image's own), so every
# mount and process they make ends with them; the container podman mounts is removed on exit, whatever happened.
# Kept between runs: the stand-ins and podman's layers (until removed), uv's build cache (podman's cache mount), the
# Debian packages and uv's wheel under $CHURN_IMAGE_CACHE (default ~/.cache/churn-maturity/image). Each step's output
# goes to a log folder, kept when a step fails (or with KEEP_LOGS=1).
# shellcheck disable=SC2016  # single-quoted $1/$0 are meant for mmdebstrap's hooks and the image's sh, not for here
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKERFILE="$ROOT_DIR/Dockerfile"
IMAGE="${IMAGE:-churn-maturity:local}"            # compose.yaml's name for the image
CHECK_IMAGE="${CHECK_IMAGE:-churn-maturity:image-check}"
CACHE="${CHURN_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/churn-maturity/image}"
# podman's default isolation runs RUN steps in an OCI runtime; where containers cannot run (cgroups, as here) chroot
# isolation still runs them. PODMAN_ISOLATION=oci for the default.
PODMAN_ISOLATION="${PODMAN_ISOLATION:-chroot}"
STAND_IN_LABEL="churn-maturity.stand-in"
SERVE_PORT=8000                                   # the image's EXPOSE and its healthcheck's default
READY_TIMEOUT="${READY_TIMEOUT:-240}"
TRAIN_TIMEOUT="${TRAIN_TIMEOUT:-900}"

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; }
log() { echo "     $*"; }
# A step's own output goes to a log file; on failure its last lines are shown.
show_tail() { [ -s "$1" ] && tail -n "${2:-25}" "$1" | cut -c1-300 | sed 's/^/     | /'; return 0; }

git_commit() { git -C "$ROOT_DIR" rev-parse HEAD 2>/dev/null || echo unknown; }

# The Dockerfile's external base images, with the ARG defaults declared before the first FROM substituted
# (stage names and scratch left out), one per line.
base_images() {
    awk '
        function expand(s,   name) {
            while (match(s, /\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*/)) {
                name = substr(s, RSTART, RLENGTH); gsub(/[${}]/, "", name)
                s = substr(s, 1, RSTART - 1) args[name] substr(s, RSTART + RLENGTH)
            }
            return s
        }
        toupper($1) == "ARG" && !seen_from { split($2, kv, "="); args[kv[1]] = kv[2] }
        toupper($1) == "FROM" {
            seen_from = 1; image = ""
            for (i = 2; i <= NF; i++) if ($i !~ /^--/) { image = expand($i); break }
            for (j = i + 1; j <= NF; j++) if (toupper($j) == "AS") stages[tolower($(j + 1))] = 1
            if (image != "scratch" && !(tolower(image) in stages) && !(image in printed)) { printed[image] = 1; print image }
        }
    ' "$DOCKERFILE"
}

# The name podman stores an image under: a short Docker Hub name means docker.io/library/<name>.
qualified() {
    local name="$1" first="${1%%/*}"
    if [[ "$name" != */* ]]; then
        echo "docker.io/library/$name"
    elif [[ "$first" == *.* || "$first" == *:* || "$first" == localhost ]]; then
        echo "$name"
    else
        echo "docker.io/$name"
    fi
}

stand_in_of() { podman image inspect --format "{{index .Config.Labels \"$STAND_IN_LABEL\"}}" "$1" 2>/dev/null || true; }

# --- make image ------------------------------------------------------------------------------------------------------
build() {
    local args=(--build-arg "GIT_COMMIT=$(git_commit)" -t "$IMAGE" -f "$DOCKERFILE" "$ROOT_DIR")
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        echo "building $IMAGE with docker"
        docker build "${args[@]}"
    elif command -v podman >/dev/null 2>&1; then
        local base note
        for base in $(base_images); do
            note="$(stand_in_of "$(qualified "$base")")"
            [ -z "$note" ] || echo "WARNING: $base here is a local stand-in ($note), not the registry's image"
        done
        echo "building $IMAGE with podman (--isolation $PODMAN_ISOLATION; --format docker keeps the HEALTHCHECK)"
        podman build --isolation "$PODMAN_ISOLATION" --format docker "${args[@]}"
    else
        echo "make image: neither a docker engine nor podman here (docker info failed or docker is missing)" >&2
        echo "  install Docker, or podman (Debian: apt-get install podman); make image-check also builds base images" >&2
        return 1
    fi
}

# --- stand-ins -------------------------------------------------------------------------------------------------------
# python:X.Y-slim-SUITE from Debian packages.
python_stand_in() {
    local name="$1" tag="${1##*:}" logfile="$2"
    if [[ ! "$tag" =~ ^([0-9]+\.[0-9]+)-slim-([a-z]+)$ ]]; then
        echo "no stand-in recipe for $name (expected python:X.Y-slim-SUITE)" >"$logfile"
        return 1
    fi
    local version="${BASH_REMATCH[1]}" suite="${BASH_REMATCH[2]}" work
    work="$(mktemp -d)"
    mkdir -p "$CACHE/apt"
    local hooks=(
        --setup-hook='mkdir -p "$1/var/cache/apt/archives/"'
        --setup-hook="sync-in $CACHE/apt /var/cache/apt/archives/"
        --customize-hook="sync-out /var/cache/apt/archives $CACHE/apt"
        # where the official image has them: /usr/local/bin/python3.X (+ python3, python)
        --customize-hook="ln -s /usr/bin/python$version \"\$1/usr/local/bin/python$version\""
        --customize-hook="ln -s python$version \"\$1/usr/local/bin/python3\" && ln -s python3 \"\$1/usr/local/bin/python\""
        --customize-hook="chroot \"\$1\" dpkg-query -W -f='\${Version}' python$version >$work/version"
    )
    local extra_cas=(/usr/local/share/ca-certificates/*.crt) trust=""
    if [ -e "${extra_cas[0]}" ]; then
        trust="; trusts the host's extra CAs and uv uses the system's certificates (/etc/uv/uv.toml)"
        hooks+=(
            --customize-hook="copy-in ${extra_cas[*]} /usr/local/share/ca-certificates/"
            --customize-hook='chroot "$1" update-ca-certificates >/dev/null 2>&1'
            --customize-hook='mkdir -p "$1/etc/uv" && echo "system-certs = true" >"$1/etc/uv/uv.toml"'
        )
    fi
    # The slim image's dpkg filters: no documentation, manual pages or translations (later installs too).
    local slim=()
    local rule
    for rule in path-exclude=/usr/share/doc/* path-include=/usr/share/doc/*/copyright path-exclude=/usr/share/man/* \
        path-exclude=/usr/share/info/* path-exclude=/usr/share/groff/* path-exclude=/usr/share/lintian/* \
        path-exclude=/usr/share/locale/* path-include=/usr/share/locale/locale.alias; do
        slim+=(--dpkgopt="$rule")
    done
    local mirror=http://deb.debian.org/debian security=http://deb.debian.org/debian-security
    if ! mmdebstrap --variant=minbase --skip=essential/unlink --quiet \
        --include="ca-certificates,netbase,tzdata,python$version" "${slim[@]}" "${hooks[@]}" \
        "$suite" "$work/rootfs.tar" \
        "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main" \
        >"$logfile" 2>&1; then
        rm -rf "$work"
        return 1
    fi
    local debian_version upstream
    debian_version="$(cat "$work/version")"
    upstream="${debian_version%%-*}"
    podman import --quiet \
        --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV LANG=C.UTF-8" \
        --change "ENV PYTHON_VERSION=$upstream" \
        --change "LABEL $STAND_IN_LABEL=\"Debian $suite python$version $debian_version (mmdebstrap)$trust\"" \
        --change 'CMD ["python3"]' \
        "$work/rootfs.tar" "$(qualified "$name")" >>"$logfile" 2>&1 || { rm -rf "$work"; return 1; }
    rm -rf "$work"
    log "Debian $suite, python$version $debian_version$trust"
}

# ghcr.io/astral-sh/uv:V: /uv and /uvx from uv's musllinux wheel (static binaries, as uv's own image has).
uv_stand_in() {
    local name="$1" version="${1##*:}" logfile="$2" arch platform work
    arch="$(uname -m)"
    case "$arch" in
        x86_64 | aarch64) platform="musllinux_1_1_$arch" ;;
        *) echo "no uv wheel platform for $arch" >"$logfile"; return 1 ;;
    esac
    mkdir -p "$CACHE/wheels"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "$platform" \
        --dest "$CACHE/wheels" "uv==$version" >"$logfile" 2>&1 || return 1
    work="$(mktemp -d)"
    python3 - "$CACHE/wheels" "$version" "$platform" "$work/uv.tar" >>"$logfile" 2>&1 <<'PY' || { rm -rf "$work"; return 1; }
import io, sys, tarfile, zipfile
from pathlib import Path

wheels, version, platform, out = sys.argv[1:]
(wheel,) = Path(wheels).glob(f"uv-{version}-*{platform}*.whl")
with zipfile.ZipFile(wheel) as archive, tarfile.open(out, "w") as tar:
    for name in ("uv", "uvx"):
        data = archive.read(f"uv-{version}.data/scripts/{name}")
        entry = tarfile.TarInfo(name)
        entry.size, entry.mode = len(data), 0o755
        tar.addfile(entry, io.BytesIO(data))
PY
    podman import --quiet --change "LABEL $STAND_IN_LABEL=\"uv $version from its PyPI wheel ($platform)\"" \
        --change 'ENTRYPOINT ["/uv"]' "$work/uv.tar" "$(qualified "$name")" >>"$logfile" 2>&1 \
        || { rm -rf "$work"; return 1; }
    rm -rf "$work"
    log "uv $version, $platform wheel"
}

# Every base image: present locally, else pulled, else a stand-in.
ensure_base_images() {
    local base full note logfile="$LOGS/base.log"
    for base in $(base_images); do
        full="$(qualified "$base")"
        if podman image exists "$full"; then
            note="$(stand_in_of "$full")"
            pass "base image $base: present locally (${note:-not a stand-in of this script})"
            continue
        fi
        if timeout 120 podman pull --quiet "$full" >"$logfile" 2>&1; then
            pass "base image $base: pulled"
            continue
        fi
        log "$base: cannot be pulled ($(tail -n 1 "$logfile" | cut -c1-120)); building a stand-in"
        local built=0
        case "$base" in
            python:* | docker.io/library/python:*) python_stand_in "$base" "$logfile" || built=$? ;;
            ghcr.io/astral-sh/uv:*) uv_stand_in "$base" "$logfile" || built=$? ;;
            *) echo "no stand-in recipe for $base" >"$logfile"; built=1 ;;
        esac
        if [ "$built" -ne 0 ]; then
            fail "base image $base: no stand-in"
            show_tail "$logfile"
            return 1
        fi
        pass "base image $base: stand-in built and tagged $full"
    done
}

# --- make image-check ------------------------------------------------------------------------------------------------
CONTAINER=""
cleanup() {
    local status=$?
    if [ -n "$CONTAINER" ]; then
        podman umount "$CONTAINER" >/dev/null 2>&1 || true
        podman rm --force "$CONTAINER" >/dev/null 2>&1 || true
    fi
    if [ "$FAILED" -eq 0 ] && [ "$status" -eq 0 ] && [ -z "${KEEP_LOGS:-}" ]; then
        rm -rf "$LOGS"
    else
        echo "logs kept in $LOGS"
    fi
}

check() {
    local missing=() tool
    for tool in podman mmdebstrap unshare chroot curl python3; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ "$(id -u)" -ne 0 ]; then
        fail "prerequisites: root is needed (podman's store, chroot, mounts)"
        exit 1
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        fail "prerequisites: missing ${missing[*]} (Debian: apt-get install podman mmdebstrap util-linux curl)"
        exit 1
    fi
    LOGS="$(mktemp -d "${TMPDIR:-/tmp}/churn-image-check.XXXXXX")"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    local started=$SECONDS
    ensure_base_images || exit 1

    local logfile="$LOGS/build.log" t0=$SECONDS
    if podman build --isolation "$PODMAN_ISOLATION" --format docker --build-arg "GIT_COMMIT=$(git_commit)" \
        -t "$CHECK_IMAGE" -f "$DOCKERFILE" "$ROOT_DIR" >"$logfile" 2>&1; then
        pass "build: the Dockerfile (unchanged; --build-arg GIT_COMMIT only) built as $CHECK_IMAGE in $((SECONDS - t0)) s"
    else
        fail "build: podman build failed"
        show_tail "$logfile" 40
        exit 1
    fi

    # The image's runtime contract, as a container engine would read it.
    local envfile="$LOGS/image.env"
    podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$CHECK_IMAGE" | sed '/^$/d' >"$envfile"
    local user workdir entrypoint cmd healthcheck
    user="$(podman image inspect --format '{{.Config.User}}' "$CHECK_IMAGE")"
    workdir="$(podman image inspect --format '{{.Config.WorkingDir}}' "$CHECK_IMAGE")"
    entrypoint="$(podman image inspect --format '{{json .Config.Entrypoint}}' "$CHECK_IMAGE")"
    cmd="$(podman image inspect --format '{{json .Config.Cmd}}' "$CHECK_IMAGE")"
    healthcheck="$(podman image inspect --format '{{json .Config.Healthcheck}}' "$CHECK_IMAGE")"

    CONTAINER="$(podman create --no-healthcheck --name "churn-image-check-$$" "$CHECK_IMAGE" 2>"$LOGS/create.log")" \
        || { fail "filesystem: podman create failed"; show_tail "$LOGS/create.log"; exit 1; }
    local rootfs
    rootfs="$(podman mount "$CONTAINER" 2>"$LOGS/mount.log")" \
        || { fail "filesystem: podman mount failed"; show_tail "$LOGS/mount.log"; exit 1; }
    pass "filesystem: mounted (user ${user:-root}, workdir ${workdir:-/}, $(wc -l <"$envfile") environment variables)"

    local status=0
    unshare --mount --pid --net --fork --kill-child --propagation private \
        bash "${BASH_SOURCE[0]}" __inside "$rootfs" "$envfile" "$user" "$workdir" \
        "$entrypoint" "$cmd" "$healthcheck" "$LOGS" || status=$?
    # The inside run prints its own PASS/FAIL lines; its exit status is the number of failures (capped at 100).
    FAILED=$((FAILED + status))
    PASSED=$((PASSED + $(grep -c '^PASS' "$LOGS/inside.summary" 2>/dev/null || echo 0)))
    echo "image-check: $PASSED passed, $FAILED failed in $((SECONDS - started)) s"
    [ "$FAILED" -eq 0 ]
}

# --- inside the namespaces: the image's filesystem, run as its user ---------------------------------------------------
inside() {
    local rootfs="$1" envfile="$2" user="$3" workdir="${4:-/}" entrypoint="$5" cmd="$6" healthcheck="$7" logs="$8"
    local summary="$logs/inside.summary" failures=0
    : >"$summary"
    ipass() { echo "PASS $1" | tee -a "$summary"; }
    ifail() { failures=$((failures + 1)); echo "FAIL $1"; }

    ip link set lo up
    mount -t proc proc "$rootfs/proc"
    mount --rbind /dev "$rootfs/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$rootfs/tmp"

    # USER as uid[:gid] or a name (looked up in the image's /etc/passwd); HOME from the image's passwd entry,
    # as docker sets it when the image's environment has none.
    local uid gid entry home
    uid="${user%%:*}"
    gid="${user#*:}"
    [ "$gid" != "$user" ] || gid=""
    uid="${uid:-0}"
    entry="$(awk -F: -v u="$uid" '$1 == u || $3 == u' "$rootfs/etc/passwd" | head -n 1)"
    if [[ ! "$uid" =~ ^[0-9]+$ ]]; then uid="$(cut -d: -f3 <<<"$entry")"; fi
    gid="${gid:-$(cut -d: -f4 <<<"$entry")}"
    gid="${gid:-$uid}"
    home="$(cut -d: -f6 <<<"$entry")"
    home="${home:-/}"
    local image_env=()
    mapfile -t image_env <"$envfile"
    grep -q '^HOME=' "$envfile" || image_env+=("HOME=$home")
    local entry_args=() cmd_args=() health_args=()
    mapfile -t entry_args < <(python3 -c 'import json,sys; [print(a) for a in (json.loads(sys.argv[1]) or [])]' "$entrypoint")
    mapfile -t cmd_args < <(python3 -c 'import json,sys; [print(a) for a in (json.loads(sys.argv[1]) or [])]' "$cmd")
    # HEALTHCHECK CMD ["a", "b"] is stored as ["CMD", "a", "b"]; CMD-SHELL runs through /bin/sh -c.
    mapfile -t health_args < <(python3 -c '
import json, sys
test = (json.loads(sys.argv[1]) or {}).get("Test") or []
if test[:1] == ["CMD"]:
    print(*test[1:], sep="\n")
elif test[:1] == ["CMD-SHELL"]:
    print("/bin/sh", "-c", test[1], sep="\n")
' "$healthcheck")

    # in_image EXTRA_ENV... -- ARGV...: ARGV in the image as uid:gid, in its workdir, with its environment only,
    # stopped after $limit seconds (0: no limit). With exec=1 (in a background subshell) the subshell becomes the
    # command, so $! is its pid and a signal to it reaches the image's process (env, chroot and sh all exec).
    local limit=120 exec=""
    in_image() {
        local extra=()
        while [ "$1" != "--" ]; do extra+=("$1"); shift; done
        shift
        local run=(timeout --kill-after=10 "$limit" env -i "${image_env[@]}" "${extra[@]}"
            chroot --userspec="$uid:$gid" --groups="$gid" "$rootfs" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@")
        if [ -n "$exec" ]; then exec "${run[@]}"; fi
        "${run[@]}"
    }

    local who
    who="$(in_image -- id)"
    if [[ "$who" == "uid=$uid("*"gid=$gid("* && "$who" != *"(root)"* ]]; then
        ipass "user: $who"
    else
        ifail "user: expected uid $uid without root's groups, got: $who"
    fi

    # train: data from the installed package (no network in this namespace), stores in the writable layers.
    local t0=$SECONDS
    if limit="$TRAIN_TIMEOUT" in_image -- "${entry_args[@]}" train >"$logs/train.log" 2>&1; then
        ipass "train: ${entry_args[*]} train as uid $uid, no network, in $((SECONDS - t0)) s: $(grep -m1 -o 'telco-churn version [0-9]* → [a-z]*' "$logs/train.log" || echo 'registered')"
    else
        ifail "train: ${entry_args[*]} train failed"
        show_tail "$logs/train.log" 30
    fi

    # serve: the image's default command (ENTRYPOINT + CMD) with an API key, as compose.yaml runs it.
    local key
    key="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
    limit=0 exec=1 in_image CHURN_SERVING__API_KEY="$key" -- "${entry_args[@]}" "${cmd_args[@]}" >"$logs/serve.log" 2>&1 &
    local serve_pid=$! ready=""
    t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$READY_TIMEOUT" ] && kill -0 "$serve_pid" 2>/dev/null; do
        if curl -fsS --max-time 5 "http://127.0.0.1:$SERVE_PORT/ready" >"$logs/ready.json" 2>/dev/null; then
            ready=yes
            break
        fi
        sleep 1
    done
    if [ -n "$ready" ]; then
        ipass "serve: ${entry_args[*]} ${cmd_args[*]} answers /ready in $((SECONDS - t0)) s: $(cut -c1-120 "$logs/ready.json")"
    else
        ifail "serve: no 200 on /ready within $READY_TIMEOUT s"
        show_tail "$logs/serve.log" 30
    fi

    # /predict: a real customer (the first who churned) from the raw data train wrote, shaped by the data contract.
    local body
    if body="$(in_image -- python -c '
import json, math
import pandas as pd
from level2_pipeline.config import load_contract

contract = load_contract()
raw = pd.read_csv("data/01_raw/telco_churn.csv")
row = raw[raw[contract.target] == "Yes"].iloc[0]
fields = [contract.id_column, *contract.features] if contract.id_column else list(contract.features)
value = {name: row[name].item() if hasattr(row[name], "item") else row[name] for name in fields}
print(json.dumps({k: None if isinstance(v, float) and math.isnan(v) else v for k, v in value.items()}))
' 2>"$logs/body.log")" && [ -n "$ready" ] \
        && curl -fsS --max-time 10 -H "X-API-Key: $key" -H "Content-Type: application/json" \
            --data "$body" "http://127.0.0.1:$SERVE_PORT/predict" >"$logs/predict.json" 2>"$logs/predict.err" \
        && python3 -c '
import json, sys
answer = json.load(open(sys.argv[1]))
assert 0.0 <= answer["churn_probability"] <= 1.0 and isinstance(answer["churn"], bool), answer
' "$logs/predict.json" 2>>"$logs/predict.err"; then
        ipass "predict: customer $(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("customer_id"))' "$body") (churned) → $(cut -c1-160 "$logs/predict.json")"
    else
        ifail "predict: no valid answer from /predict"
        show_tail "$logs/body.log"
        show_tail "$logs/predict.err"
    fi
    # Without the key the service refuses (it bound beyond loopback only because it has one).
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Content-Type: application/json" \
        --data "${body:-"{}"}" "http://127.0.0.1:$SERVE_PORT/predict" || true)"
    if [ "$code" = 401 ] || [ "$code" = 403 ]; then
        ipass "predict: refused without the API key (HTTP $code)"
    else
        ifail "predict: without the API key expected 401/403, got HTTP $code"
    fi

    # The image's HEALTHCHECK, run as the image runs it: 0 while the service is ready, non-zero once it is gone.
    if [ "${#health_args[@]}" -eq 0 ]; then
        ifail "healthcheck: the image has no HEALTHCHECK (built without --format docker?)"
    elif in_image -- "${health_args[@]}" >"$logs/health.log" 2>&1; then
        ipass "healthcheck: ${health_args[*]} exits 0 while the service is ready"
    else
        ifail "healthcheck: ${health_args[*]} failed while the service was ready"
        show_tail "$logs/health.log"
    fi
    kill -TERM "$serve_pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$serve_pid" 2>/dev/null && [ "$waited" -lt 30 ]; do sleep 1; waited=$((waited + 1)); done
    kill -KILL "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    if [ "${#health_args[@]}" -gt 0 ]; then
        if in_image -- "${health_args[@]}" >"$logs/health-down.log" 2>&1; then
            ifail "healthcheck: still exits 0 with the service stopped"
        else
            ipass "healthcheck: exits non-zero once the service stopped ($(tail -n 1 "$logs/health-down.log" | cut -c1-100))"
        fi
    fi

    # Writes: refused everywhere in /app but the data layers and the tools' homes; those are writable.
    local target refused=() allowed=() wrong=()
    for target in "$workdir/conf/base/catalog.yml" "$workdir/level3_system/__init__.py" "$workdir/.venv/pyvenv.cfg" \
        "$workdir/image-check-probe" "$workdir/conf/local/image-check-probe"; do
        if in_image -- sh -c 'echo probe >>"$0"' "$target" >"$logs/write.log" 2>&1; then
            wrong+=("$target")
        elif grep -q "Permission denied" "$logs/write.log"; then
            refused+=("$target")
        else
            wrong+=("$target ($(tail -n 1 "$logs/write.log"))")
        fi
    done
    for target in data .mlflow .prefect; do
        if in_image -- sh -c 'echo probe >"$0/image-check-probe" && rm "$0/image-check-probe"' "$workdir/$target" \
            >>"$logs/write.log" 2>&1; then
            allowed+=("$target")
        else
            wrong+=("$workdir/$target not writable")
        fi
    done
    local writable
    writable="$(in_image -- find "$workdir" -xdev -writable -not -path "$workdir/data*" -not -path "$workdir/.mlflow*" \
        -not -path "$workdir/.prefect*" 2>/dev/null | head -n 5)"
    [ -z "$writable" ] || wrong+=("writable: ${writable//$'\n'/, }")
    if [ "${#wrong[@]}" -eq 0 ]; then
        ipass "writes: permission denied for ${#refused[@]} paths outside the data layers (code, conf, venv); writable: ${allowed[*]}"
    else
        ifail "writes: ${wrong[*]}"
    fi
    [ "$failures" -lt 100 ] || failures=100
    return "$failures"
}

case "${1:-}" in
    build) build ;;
    check) check ;;
    __inside) shift; inside "$@" ;;
    *) echo "usage: $0 build|check" >&2; exit 2 ;;
esac
