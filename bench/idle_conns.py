#!/usr/bin/env python3
"""Opens N keep-alive connections to HOST:PORT, sends one small request on each, reads
the response, then holds them all idle for HOLD seconds while the caller measures the
proxy's memory. Prints how many connections completed a request."""
import socket
import sys
import time

host, port, n, hold, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
socks, ok = [], 0
for _ in range(n):
    s = socket.create_connection((host, port))
    s.sendall(req)
    socks.append(s)
for s in socks:
    s.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    if data.startswith(b"HTTP/1.1 200"):
        ok += 1
print(f"{ok}/{n} connections idle after one request", flush=True)
time.sleep(hold)
