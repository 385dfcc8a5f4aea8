#!/usr/bin/env python3
"""encrypt_write round trips through the reference Python thin client (unchanged).

Usage: bench_encrypt_write.py <thinclient.toml> <sequential ops> <concurrent ops> <concurrency> [plaintext bytes]

Same loop as bench/client.ts runs through our client and through raw frames: one new_keypair,
then encrypt_write of a fixed plaintext at the first index, sequentially and with
<concurrency> requests in flight. Prints `KP_INTEROP_RESULT {"sequential": ops/s, "concurrent": ops/s, ...}`.
"""

import asyncio
import json
import os
import sys
import time
from importlib.metadata import version

from katzenpost_thinclient import Config, ThinClient


async def run(config_path: str, seq_n: int, conc_n: int, concurrency: int, size: int) -> dict:
    client = ThinClient(Config(config_path))
    await client.start(asyncio.get_running_loop())
    try:
        kp = await client.new_keypair(os.urandom(32))
        plaintext = os.urandom(size)

        async def one():
            w = await client.encrypt_write(plaintext, kp.write_cap, kp.first_message_index)
            assert w.envelope_hash

        for _ in range(min(100, seq_n)):  # warm-up
            await one()

        t0 = time.perf_counter()
        for _ in range(seq_n):
            await one()
        seq_s = time.perf_counter() - t0

        async def worker(n: int):
            for _ in range(n):
                await one()

        per = [conc_n // concurrency + (1 if i < conc_n % concurrency else 0) for i in range(concurrency)]
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in per))
        conc_s = time.perf_counter() - t0
        return {
            "sequential": seq_n / seq_s,
            "concurrent": conc_n / conc_s,
            "sequential_ops": seq_n,
            "concurrent_ops": conc_n,
            "concurrency": concurrency,
            "plaintext_bytes": size,
            "client_version": version("katzenpost-thinclient"),
        }
    finally:
        client.stop()


def main() -> int:
    if len(sys.argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    path, seq_n, conc_n, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    size = int(sys.argv[5]) if len(sys.argv) == 6 else 100
    result = asyncio.run(run(path, seq_n, conc_n, concurrency, size))
    print("KP_INTEROP_RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
