#!/usr/bin/env python3
"""coldstart.py — the measuring half of bench/coldstart/run.sh (run.sh sets everything up).

  coldstart.py fleet  FLEETCTL HOST PORT SERVICE N TRACE   cold (from zero) and warm first-byte latency
  coldstart.py runc   BUNDLE STATE PORT N                   `runc run -d` + first byte on one bundle

Prints one JSON object per mode on stdout; progress on stderr. First byte = time from connect()
to the first byte of the HTTP answer, on a new connection, as a client sees it.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import time

STEPS = ["requested", "launching", "image", "network-ready", "address", "bundle", "record",
         "creating", "created", "started", "running", "probe-ok", "healthy"]


def first_byte(host, port, timeout=40.0):
    """Connects, sends a GET and returns (ms to the first byte, body) — or (None, error)."""
    t0 = time.monotonic()
    wall = time.time()
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET / HTTP/1.0\r\nHost: bench\r\nConnection: close\r\n\r\n")
            chunk = s.recv(1)
            if not chunk:
                return None, "closed without an answer", wall
            ms = (time.monotonic() - t0) * 1000
            rest = b""
            while True:
                more = s.recv(4096)
                if not more:
                    break
                rest += more
            text = (chunk + rest).decode("ascii", "replace")
            if " 200 " not in text.split("\r\n", 1)[0]:
                return None, text.split("\r\n", 1)[0], wall
            return ms, text.split("\r\n\r\n", 1)[-1].strip(), wall
    except OSError as e:
        return None, str(e), wall


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ctl(fleetctl, *args):
    return subprocess.run([fleetctl, *args], check=True, capture_output=True, text=True).stdout


def replicas(fleetctl, service):
    return json.loads(ctl(fleetctl, "get", "replicas", "--service", service, "-o", "json"))


def wait(condition, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.05)


def trace_steps(trace, replica, t0_ms):
    """ms after the connection of each start step of one replica, from FLEET_START_TRACE."""
    steps = {}
    if not trace or not os.path.exists(trace):
        return steps
    for line in open(trace, encoding="utf-8"):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) == 3 and parts[1] == replica and parts[2] in STEPS and parts[2] not in steps:
            steps[parts[2]] = int(parts[0]) - t0_ms
    return steps


def fleet(fleetctl, host, port, service, n, trace):
    port, n = int(port), int(n)
    cold, steps, errors = [], {}, []
    for i in range(n):
        ctl(fleetctl, "scale", service, "--replicas", "0")
        wait(lambda: not replicas(fleetctl, service), "0 replicas")
        time.sleep(0.6)  # the mesh's routes follow within a feeder round (250 ms)
        ms, body, wall = first_byte(host, port)
        if ms is None:
            errors.append(body)
            print(f"cold {i + 1}/{n}: FAILED {body}", file=sys.stderr)
            continue
        cold.append(ms)
        replica = body.removeprefix("hello from ")
        for step, at in trace_steps(trace, replica, int(wall * 1000)).items():
            steps.setdefault(step, []).append(at)
        print(f"cold {i + 1}/{n}: {ms:.1f} ms ({replica})", file=sys.stderr)
    # Warm: the replica of the last wake is up; the same request, as many times.
    warm = []
    for _ in range(n):
        ms, body, _ = first_byte(host, port)
        if ms is not None:
            warm.append(ms)
    out = {
        "n": n, "cold": cold, "warm": warm, "errors": errors,
        "cold_p50": pct(cold, 0.5) if cold else None, "cold_p99": pct(cold, 0.99) if cold else None,
        "warm_p50": pct(warm, 0.5) if warm else None, "warm_p99": pct(warm, 0.99) if warm else None,
        "steps": {s: statistics.median(v) for s, v in steps.items()},
    }
    print(json.dumps(out))


def runc(bundle, state, port, n):
    port, n = int(port), int(n)
    times, errors = [], []
    for i in range(n):
        name = f"coldstart-peer-{os.getpid()}-{i}"
        t0 = time.monotonic()
        subprocess.run(["runc", "--root", state, "run", "-d", "-b", bundle, name],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ms = None
        while time.monotonic() - t0 < 20:
            got, body, _ = first_byte("127.0.0.1", port, timeout=5)
            if got is not None:
                ms = (time.monotonic() - t0) * 1000
                break
            time.sleep(0.002)
        subprocess.run(["runc", "--root", state, "delete", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if ms is None:
            errors.append(f"run {i}: no answer in 20 s")
            continue
        times.append(ms)
        print(f"runc {i + 1}/{n}: {ms:.1f} ms", file=sys.stderr)
    print(json.dumps({"n": n, "times": times, "errors": errors,
                      "p50": pct(times, 0.5) if times else None, "p99": pct(times, 0.99) if times else None}))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"fleet": fleet, "runc": runc}[mode](*args)
