# bench/lib/minio.sh — sourced by bench/s3.sh and bench/s3restore.sh: one
# way to start the local MinIO both benchmarks measure against, with the aws
# CLI and rclone pointed at it and nothing taken from the user's own
# configuration.
#
# minio_start NAME WORK BUCKET
#   NAME prefixes error messages ("bench-s3"); WORK is the run's directory
#   (on tmpfs): MinIO's drive is WORK/minio, its log WORK/minio.log. Sets
#   MINIO_PID, ENDPOINT (http://127.0.0.1:PORT) and MINIO_VERSION; exports
#   fresh random credentials, an empty aws config, and an rclone remote
#   "minio:" through RCLONE_CONFIG_MINIO_* variables; creates BUCKET. The
#   request metrics (minio_s3_requests_total) are readable without a token
#   at $ENDPOINT/minio/v2/metrics/node.
# minio_stop
#   Stops the MinIO minio_start started (the caller's EXIT trap calls it).
# minio_ticks
#   MinIO's user + system CPU so far, in clock ticks.
#
# The caller sets MINIO to the server binary (see minio_find).

# minio_find NAME: sets MINIO to $EFSSYNC_TEST_MINIO, the repository's
# .bin/minio or the one on PATH, or exits 2.
minio_find() {
	MINIO="${EFSSYNC_TEST_MINIO:-$REPO/.bin/minio}"
	[ -x "$MINIO" ] || MINIO="$(command -v minio || true)"
	[ -n "$MINIO" ] || { echo "$1: minio missing; run scripts/install-test-deps.sh" >&2; exit 2; }
}

minio_start() {
	local name=$1 work=$2 bucket=$3 port
	port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
	ENDPOINT="http://127.0.0.1:$port"
	export AWS_ACCESS_KEY_ID="bench$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	export AWS_SECRET_ACCESS_KEY="$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
	# The aws CLI must not pick up a user's profile (credentials, endpoint,
	# max_concurrent_requests): it runs with its defaults, as most people use it.
	: >"$work/aws-config"
	export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-config"
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
	# MinIO is plain HTTP here; a CA bundle setting only breaks rclone's S3
	# client ("unable to load custom CA bundle"), so drop it.
	unset AWS_CA_BUNDLE
	export RCLONE_CONFIG="$work/rclone.conf"
	: >"$RCLONE_CONFIG"
	export RCLONE_CONFIG_MINIO_TYPE=s3 RCLONE_CONFIG_MINIO_PROVIDER=Minio RCLONE_CONFIG_MINIO_ENDPOINT="$ENDPOINT"
	export RCLONE_CONFIG_MINIO_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
	export RCLONE_CONFIG_MINIO_REGION=us-east-1

	mkdir -p "$work/minio"
	MINIO_ROOT_USER="$AWS_ACCESS_KEY_ID" MINIO_ROOT_PASSWORD="$AWS_SECRET_ACCESS_KEY" MINIO_BROWSER=off MINIO_UPDATE=off \
		MINIO_PROMETHEUS_AUTH_TYPE=public \
		"$MINIO" server --address "127.0.0.1:$port" --certs-dir "$work/certs" --quiet "$work/minio" >"$work/minio.log" 2>&1 &
	MINIO_PID=$!
	for _ in $(seq 600); do
		curl -fsS -o /dev/null "$ENDPOINT/minio/health/live" 2>/dev/null && break
		kill -0 "$MINIO_PID" 2>/dev/null || { cat "$work/minio.log" >&2; echo "$name: minio exited" >&2; exit 1; }
		sleep 0.1
	done
	curl -fsS -o /dev/null "$ENDPOINT/minio/health/live" || { cat "$work/minio.log" >&2; echo "$name: minio not live" >&2; exit 1; }
	rclone mkdir "minio:$bucket"
	MINIO_VERSION="$(go version -m "$MINIO" 2>/dev/null | awk '$1 == "mod" {print $2, $3}')"
	[ -n "$MINIO_VERSION" ] || MINIO_VERSION="$("$MINIO" --version 2>/dev/null | head -1)"
}

minio_stop() {
	if [ -n "${MINIO_PID:-}" ]; then
		kill -TERM "$MINIO_PID" 2>/dev/null
		wait "$MINIO_PID" 2>/dev/null
		MINIO_PID=""
	fi
}

minio_ticks() { awk '{print $14 + $15}' "/proc/$MINIO_PID/stat"; }
