#!/usr/bin/env python3
"""A TCP proxy that counts the bytes each way between clients and one server (what a protocol puts on the wire).

  wire-bytes.py LISTEN_PORT TARGET_URL OUT.json     forwards 127.0.0.1:LISTEN_PORT to TARGET_URL's host:port; on
                                                  SIGTERM writes {"connections", "up", "down"} (client→server bytes,
                                                  server→client bytes: TCP payload, so HTTP upgrade and WebSocket
                                                  framing included) to OUT.json and exits.
"""
import asyncio, json, signal, sys, urllib.parse

counts = {"connections": 0, "up": 0, "down": 0}


async def pump(reader, writer, key):
    try:
        while data := await reader.read(65536):
            counts[key] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(port, target, out):
    url = urllib.parse.urlsplit(target)
    host, target_port = url.hostname, url.port or 80

    async def accept(client_reader, client_writer):
        counts["connections"] += 1
        server_reader, server_writer = await asyncio.open_connection(host, target_port)
        await asyncio.gather(pump(client_reader, server_writer, "up"), pump(server_reader, client_writer, "down"))

    server = await asyncio.start_server(accept, "127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    json.dump(counts, open(out, "w"))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
