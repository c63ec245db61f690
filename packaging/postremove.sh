#!/bin/sh
# Makes systemd forget the removed units. The state in /var/lib/efssync
# (manifests, reports) is left in place: it is what makes a reinstall
# resume instead of copying everything again.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
