#!/usr/bin/env python3
"""A loopback TCP proxy that cuts connections mid-request (datom's tests).

    flaky-proxy.py --target PORT [--every N] [--seed S] [--max-seconds T]

Listens on 127.0.0.1 (a free port, printed as "READY <port>"), forwards every
connection to 127.0.0.1:PORT, and cuts every N-th connection after a random
number of bytes (seeded: the same run cuts the same connections) of the
client's request. It serves only loopback addresses and exits by itself
after --max-seconds (bounded), or when its parent stops it. Each cut is
logged on stdout as "CUT <connection> <bytes>".
"""
import argparse
import random
import socket
import sys
import threading
import time


def pipe(src, dst, budget, on_cut):
    """Copy src -> dst; with a byte budget, close both ends once it is spent."""
    sent = 0
    try:
        while True:
            want = 65536 if budget is None else max(1, min(65536, budget - sent))
            data = src.recv(want)
            if not data:
                break
            dst.sendall(data)
            sent += len(data)
            if budget is not None and sent >= budget:
                on_cut(sent)
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()
                return
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-bytes", type=int, default=200000)
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lock = threading.Lock()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(0.5)
    print("READY %d" % srv.getsockname()[1], flush=True)
    deadline = time.time() + args.max_seconds
    n = 0
    while time.time() < deadline:
        try:
            client, _ = srv.accept()
        except socket.timeout:
            continue
        n += 1
        try:
            upstream = socket.create_connection(("127.0.0.1", args.target), timeout=30)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        budget = None
        if n % args.every == 0:
            with lock:
                budget = rng.randint(1, args.max_bytes)
        conn = n

        def cut(sent, conn=conn):
            print("CUT %d %d" % (conn, sent), flush=True)

        threading.Thread(target=pipe, args=(client, upstream, budget, cut), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client, None, cut), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
