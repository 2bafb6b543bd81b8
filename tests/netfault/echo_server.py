"""A TCP echo server for link tests, run at the far end: ``python -m tests.netfault.echo_server PORT``."""

from __future__ import annotations

import socket
import sys
import threading


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def main() -> None:
    server = socket.create_server(("0.0.0.0", int(sys.argv[1])), reuse_port=False)
    print("listening", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_echo, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
