#!/bin/sh
# Burns a bounded amount of cpu, then names the replica that served the request.
i=0
while [ "$i" -lt "${BURN_STEPS:-30000}" ]; do i=$((i + 1)); done
printf 'Content-Type: text/plain\r\n\r\nburned by %s\n' "$(hostname)"
