#!/usr/bin/env python3
"""Round trips of one local request through the reference Python thin client (unchanged).

Usage: bench_encrypt_write.py <thinclient.toml> <op> <seconds per loop> <concurrency> [plaintext bytes]
  op: encrypt_write | next_message_box_index

Same loops as bench/client.ts runs through our client and through raw frames: one new_keypair,
then the request at the first index (encrypt_write of a fixed plaintext, or next_message_box_index),
awaited one at a time for <seconds>, then with <concurrency> in flight for <seconds>.
Prints `KP_INTEROP_RESULT {"sequential": ops/s, "concurrent": ops/s, "sequentialCpuUs": CPU µs/op, ...}`.
"""

import asyncio
import json
import os
import sys
import time
from importlib.metadata import version

from katzenpost_thinclient import Config, ThinClient


async def run(config_path: str, op: str, seconds: float, concurrency: int, size: int) -> dict:
    client = ThinClient(Config(config_path))
    await client.start(asyncio.get_running_loop())
    try:
        kp = await client.new_keypair(os.urandom(32))
        plaintext = os.urandom(size)

        if op == "encrypt_write":

            async def one():
                w = await client.encrypt_write(plaintext, kp.write_cap, kp.first_message_index)
                assert len(w.envelope_hash) == 32

        elif op == "next_message_box_index":

            async def one():
                n = await client.next_message_box_index(kp.first_message_index)
                assert len(n) == 104

        else:
            raise ValueError(f"unknown op {op}")

        for _ in range(20):  # warm-up
            await one()

        count = 0
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        deadline = t0 + seconds
        while time.perf_counter() < deadline:
            await one()
            count += 1
        sequential = count / (time.perf_counter() - t0)
        sequential_cpu_us = (time.process_time() - cpu0) * 1e6 / count

        done = 0

        async def worker():
            nonlocal done
            while time.perf_counter() < deadline:
                await one()
                done += 1

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        deadline = t0 + seconds
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        concurrent = done / (time.perf_counter() - t0)
        concurrent_cpu_us = (time.process_time() - cpu0) * 1e6 / done
        return {
            "op": op,
            "sequential": sequential,
            "concurrent": concurrent,
            "sequentialCpuUs": sequential_cpu_us,
            "concurrentCpuUs": concurrent_cpu_us,
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
    path, op, seconds, concurrency = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    size = int(sys.argv[5]) if len(sys.argv) == 6 else 100
    result = asyncio.run(run(path, op, seconds, concurrency, size))
    print("KP_INTEROP_RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
