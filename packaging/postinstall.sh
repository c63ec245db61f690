#!/bin/sh
# Makes systemd see new or changed units. Nothing is enabled or started:
# /etc/efssync/config.yaml and the units' ReadWritePaths= need editing first.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
