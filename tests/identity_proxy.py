"""A sign-in proxy on loopback, as oauth2-proxy and Authelia behave in front of an app (their documented
`X-Forwarded-User` / `X-Forwarded-For` upstream headers): every request it passes on, WebSocket
handshakes included, carries the signed-in person's name, and any identity header the browser sent is
dropped first. The app behind it is real; only who is "signed in" is set by the test.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

DROPPED = (b"x-forwarded-user", b"x-forwarded-for", b"x-forwarded-email", b"connection")


def _rewrite(head: bytes, user: str, client: str) -> bytes:
    lines = head.split(b"\r\n")
    upgrade = any(line.lower().startswith(b"upgrade:") for line in lines[1:])
    kept = [lines[0]] + [line for line in lines[1:] if line and line.split(b":", 1)[0].strip().lower() not in DROPPED]
    if user:
        kept.append(b"X-Forwarded-User: " + user.encode())
    kept.append(b"X-Forwarded-For: " + client.encode())
    kept.append(b"Connection: Upgrade" if upgrade else b"Connection: close")  # one request per connection
    return b"\r\n".join(kept) + b"\r\n\r\n"


@contextmanager
def identity_proxy(upstream: str, user: str = "", forwarded_for: str = "") -> Iterator[str]:
    """Serve a proxy to `upstream` (http://host:port) that signs everyone in as `user` ("": no one);
    `forwarded_for`: the client address it claims (default: the real one)."""
    host, port = upstream.removeprefix("http://").split(":")
    loop = asyncio.new_event_loop()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            head = await client_reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            client_writer.close()
            return
        peer = client_writer.get_extra_info("peername")[0]
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        up_writer.write(_rewrite(head, user, forwarded_for or peer))
        await up_writer.drain()
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))

    ready = threading.Event()
    servers: list[asyncio.AbstractServer] = []

    def run() -> None:  # its own loop in its own thread (the caller's thread may run one already)
        asyncio.set_event_loop(loop)
        servers.append(loop.run_until_complete(asyncio.start_server(handle, sock=sock)))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:

        async def shutdown() -> None:
            servers[0].close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
