#!/usr/bin/env python3
"""Writes a random but well-formed master script to stdout, for checking
that bin/check accepts real histories of messy runs (partitions, kills,
rejoins, client moves, concurrent writes, non-UTF-8 values).

    tests/check/random_script.py SEED [LINES]
"""
import random
import sys

seed = int(sys.argv[1])
lines = int(sys.argv[2]) if len(sys.argv) > 2 else 150
rnd = random.Random(seed)
out = sys.stdout.buffer

servers = [1, 2, 3, 4, 5][: rnd.randint(2, 5)]
clients = [100, 200, 300]
keys = [b"a", b"b", b"k", b"\xff\xfe", b"x" * 40]
live, dead, client_server = set(), set(), {}


def emit(*tok):
    out.write(b" ".join(t if isinstance(t, bytes) else str(t).encode() for t in tok) + b"\n")


for s in servers[:2]:
    emit("joinServer", s)
    live.add(s)
for c in clients:
    s = rnd.choice(sorted(live))
    emit("joinClient", c, s)
    client_server[c] = s

n = 0
while n < lines:
    n += 1
    r = rnd.random()
    if r < 0.55:
        c = rnd.choice(clients)
        if client_server.get(c) not in live and live:
            s = rnd.choice(sorted(live))
            emit("joinClient", c, s)
            client_server[c] = s
    if r < 0.30:
        v = rnd.choice([b"v%d" % n, b"\x80bin%d" % n, b"w" * rnd.randint(1, 300)])
        emit("put", c, rnd.choice(keys), v)
    elif r < 0.55:
        emit("get", c, rnd.choice(keys))
    elif r < 0.62:
        emit("stabilize")
    elif r < 0.70:
        if live:
            emit("printStore", rnd.choice(sorted(live)))
    elif r < 0.76:
        a, b = rnd.sample(servers, 2)
        emit(rnd.choice(["breakConnection", "createConnection"]), a, b)
    elif r < 0.80:
        c = rnd.choice(clients)
        if client_server.get(c) in live:
            emit("breakConnection", c, client_server[c])
            client_server[c] = None
    elif r < 0.88:
        if live:
            c = rnd.choice(clients)
            s = rnd.choice(sorted(live))
            emit("joinClient", c, s)
            client_server[c] = s
    elif r < 0.92:
        cand = [s for s in servers if s not in live]
        if cand:
            s = rnd.choice(cand)
            emit("joinServer", s)
            live.add(s)
            dead.discard(s)
    elif r < 0.95:
        if len(live) > 1 and rnd.random() < 0.6:
            s = rnd.choice(sorted(live))
            emit("killServer", s)
            live.discard(s)
            dead.add(s)
    else:
        # a few bad commands: the run goes on
        if rnd.random() < 0.3:
            emit(rnd.choice(["get 100", "put 999 k v", "stablize", "printStore 77"]))
emit("stabilize")
for s in sorted(live):
    emit("printStore", s)
