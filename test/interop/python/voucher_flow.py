#!/usr/bin/env python3
"""One side of a Contact Voucher introduction, done by the reference Python thin client, unchanged.

Usage: voucher_flow.py <thinclient.toml> <role> <input.json>

The other side is the TypeScript client in test/interop/python-devnet.test.ts; the two take turns,
one run of this script per turn, and meet in the devnet's boxes. Byte values in and out are hex.
A cap ends with its first MessageBoxIndex (104 bytes); box 1 of the VoucherStream is the next one.

Roles (input fields -> result fields):
  joiner-mint    display_name -> voucher, voucher_secret_key, voucher_read_cap, message_write_cap
                 (mints from a fresh keypair and publishes the payload in VoucherStream box 0)
  joiner-open    voucher_read_cap, voucher_secret_key, message_write_cap, message -> who_reply, salt
                 (reads the sealed reply from box 1, opens it, writes `message` with the mutated cap)
  inductor       voucher, who_reply -> display_name, salt, mutated_message_read_cap
                 (derives the stream, reads box 0, inducts, writes the sealed reply in box 1)
  read           read_cap -> plaintext (reads the first box of `read_cap`)

The last line on stdout is `KP_INTEROP_RESULT {"ok": bool, "role": str, ...result, "error"?: str}`.
"""

import asyncio
import json
import os
import sys
import traceback

from interop_flow import STEP_TIMEOUT, connect, read_box, write_box

INDEX_SIZE = 104


def first_index(cap: bytes) -> bytes:
    return cap[-INDEX_SIZE:]


async def joiner_mint(client, args):
    keypair = await client.new_keypair(os.urandom(32))
    minted = await client.voucher_mint(keypair.write_cap, args["display_name"])
    await write_box(client, minted.voucher_write_cap, first_index(minted.voucher_write_cap), minted.voucher_payload)
    return {
        "voucher": minted.voucher.hex(),
        "voucher_secret_key": minted.voucher_secret_key.hex(),
        "voucher_read_cap": minted.voucher_read_cap.hex(),
        "message_write_cap": keypair.write_cap.hex(),
    }


async def joiner_open(client, args):
    voucher_read_cap = bytes.fromhex(args["voucher_read_cap"])
    box1 = await client.next_message_box_index(first_index(voucher_read_cap))
    _, sealed = await read_box(client, voucher_read_cap, box1)
    opened = await client.voucher_open(
        bytes.fromhex(args["voucher_secret_key"]), sealed.plaintext, bytes.fromhex(args["message_write_cap"])
    )
    live = opened.mutated_message_write_cap
    await write_box(client, live, first_index(live), args["message"].encode())
    return {"who_reply": (opened.who_reply or b"").hex(), "salt": opened.salt.hex()}


async def inductor(client, args):
    voucher = bytes.fromhex(args["voucher"])
    stream = await client.voucher_derive_stream(voucher)
    _, published = await read_box(client, stream.voucher_read_cap, first_index(stream.voucher_read_cap))
    inducted = await client.voucher_induct(voucher, published.plaintext, bytes.fromhex(args["who_reply"]))
    box1 = await client.next_message_box_index(first_index(stream.voucher_write_cap))
    await write_box(client, stream.voucher_write_cap, box1, inducted.sealed_reply)
    return {
        "display_name": inducted.display_name,
        "salt": inducted.salt.hex(),
        "mutated_message_read_cap": inducted.mutated_message_read_cap.hex(),
    }


async def read(client, args):
    read_cap = bytes.fromhex(args["read_cap"])
    _, res = await read_box(client, read_cap, first_index(read_cap))
    return {"plaintext": res.plaintext.hex()}


ROLES = {"joiner-mint": joiner_mint, "joiner-open": joiner_open, "inductor": inductor, "read": read}


async def run(config_path, role, args):
    client = await connect(config_path)
    try:
        return await asyncio.wait_for(ROLES[role](client, args), STEP_TIMEOUT)
    finally:
        client.stop()


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[2] not in ROLES:
        print(f"usage: voucher_flow.py <thinclient.toml> <{'|'.join(ROLES)}> <input.json>", file=sys.stderr)
        return 2
    result = {"ok": False, "role": sys.argv[2]}
    try:
        with open(sys.argv[3]) as f:
            args = json.load(f)
        result.update(asyncio.run(run(sys.argv[1], sys.argv[2], args)))
        result["ok"] = True
    except BaseException as exc:  # report, do not crash without a result line
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    print("KP_INTEROP_RESULT " + json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
