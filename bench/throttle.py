"""A loopback TCP proxy that limits each connection's download speed.

`make bench` puts it in front of moto to stand for a distant S3 endpoint,
where one connection is the limit (bandwidth-delay product, per-connection
caps): there a large download needs parallel ranges, on loopback it does not.

Usage: python throttle.py UPSTREAM_PORT MIB_PER_S_PER_CONNECTION
Prints "READY <port> <pid>" once listening; runs until killed.
"""
import os
import socket
import sys
import threading
import time

upstream_port = int(sys.argv[1])
rate = float(sys.argv[2]) * 1024 * 1024


def pipe(src, dst, limit):
    start, sent = time.monotonic(), 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            sent += len(data)
            if limit:
                ahead = sent / limit - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    try:
        up = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, up, 0), daemon=True).start()
    threading.Thread(target=pipe, args=(up, client, rate), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print("READY", listener.getsockname()[1], os.getpid(), flush=True)
while True:
    conn, _ = listener.accept()
    serve(conn)
