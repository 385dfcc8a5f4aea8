#!/usr/bin/env python3
"""Drives a kpclientd-compatible daemon with the reference Python thin client, unchanged.

Usage: interop_flow.py <thinclient.toml>

Every step uses katzenpost_thinclient's own public methods (the package installed from PyPI by
setup.sh); nothing here speaks the wire protocol itself. The flow follows the reference suite
(thin_client tests/test_new_pigeonhole_api.py): two clients, Alice and Bob, on separate
connections, so box state must be shared across connections.

The last line on stdout is `KP_INTEROP_RESULT <json>`:
  {"ok": bool, "steps": [{"name", "ok", "ms", ...details}], "error"?: str, "traceback"?: str,
   "client_version": str}
The TypeScript test asserts on it. A failing step stops the flow (later steps depend on it).
"""

import asyncio
import json
import os
import struct
import sys
import time
import traceback
from importlib.metadata import version

from katzenpost_thinclient import (
    BoxAlreadyExistsError,
    BoxIDNotFoundError,
    Config,
    ThinClient,
    TombstoneError,
)
from katzenpost_thinclient.core import find_services

STEP_TIMEOUT = float(os.environ.get("KP_INTEROP_STEP_TIMEOUT", "30"))


class Flow:
    def __init__(self) -> None:
        self.steps = []

    async def step(self, name, coro):
        """Runs one step under a timeout and records its outcome; re-raises on failure."""
        started = time.perf_counter()
        entry = {"name": name}
        self.steps.append(entry)
        try:
            details = await asyncio.wait_for(coro, STEP_TIMEOUT)
        except BaseException as exc:
            entry.update(ok=False, ms=_ms(started), error=f"{type(exc).__name__}: {exc}")
            raise
        entry.update(ok=True, ms=_ms(started))
        if details:
            entry.update(details)
        return entry


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def connect(config_path: str) -> ThinClient:
    client = ThinClient(Config(config_path))
    await client.start(asyncio.get_running_loop())
    # As the reference tests do: wait for the mixnet flag and a PKI document.
    for _ in range(100):
        if client.is_connected() and client.pki_document() is not None:
            break
        await asyncio.sleep(0.1)
    return client


async def write_box(client, write_cap, index, plaintext, **flags):
    w = await client.encrypt_write(plaintext, write_cap, index)
    res = await client.start_resending_encrypted_message(
        read_cap=None,
        write_cap=write_cap,
        message_box_index=None,
        reply_index=None,
        envelope_descriptor=w.envelope_descriptor,
        message_ciphertext=w.message_ciphertext,
        envelope_hash=w.envelope_hash,
        **flags,
    )
    return w, res


async def read_box(client, read_cap, index, **flags):
    r = await client.encrypt_read(read_cap, index)
    res = await client.start_resending_encrypted_message(
        read_cap=read_cap,
        write_cap=None,
        message_box_index=index,
        reply_index=0,
        envelope_descriptor=r.envelope_descriptor,
        message_ciphertext=r.message_ciphertext,
        envelope_hash=r.envelope_hash,
        **flags,
    )
    return r, res


async def expect_raises(coro, exc_type):
    try:
        await coro
    except exc_type as exc:
        return type(exc).__name__
    raise AssertionError(f"expected {exc_type.__name__}, the call succeeded")


async def run(config_path: str, flow: Flow) -> None:
    alice = bob = None
    try:
        # 1. Handshake: connection_status_event, new_pki_document_event, session_token(_reply).
        async def handshake():
            nonlocal alice, bob
            alice = await connect(config_path)
            bob = await connect(config_path)
            geo = alice.pigeonhole_geometry
            return {
                "is_connected": alice.is_connected() and bob.is_connected(),
                "has_pki_document": alice.pki_document() is not None,
                "epoch": (alice.pki_document() or {}).get("Epoch"),
                "instance_token_len": len(alice._daemon_instance_token or b""),
                "same_instance": alice._daemon_instance_token == bob._daemon_instance_token,
                "max_plaintext_payload_length": geo.max_plaintext_payload_length if geo else None,
                "sphinx_user_forward_payload_length": alice.geometry.UserForwardPayloadLength
                if alice.geometry
                else None,
                "courier_services": len(find_services("courier", alice.pki_document() or {"ServiceNodes": []})),
            }

        await flow.step("handshake", handshake())

        # 2. new_keypair: caps of the right sizes, deterministic in the seed.
        seed = os.urandom(32)
        keys = {}

        async def keypair():
            kp = await alice.new_keypair(seed)
            again = await bob.new_keypair(seed)
            keys["chan"] = kp
            return {
                "write_cap_len": len(kp.write_cap),
                "read_cap_len": len(kp.read_cap),
                "first_index_len": len(kp.first_message_index),
                "deterministic": again.write_cap == kp.write_cap and again.read_cap == kp.read_cap,
            }

        await flow.step("new_keypair", keypair())
        chan = keys["chan"]
        msg1 = b"Hello Bob, from the reference Python client " + os.urandom(8).hex().encode()
        msg2 = b"second box " + os.urandom(8).hex().encode()
        state = {}

        # 3. encrypt_write + start_resending_encrypted_message (Alice writes two boxes).
        async def write():
            w1, res1 = await write_box(alice, chan.write_cap, chan.first_message_index, msg1)
            idx2 = await alice.next_message_box_index(chan.first_message_index)
            w2, res2 = await write_box(alice, chan.write_cap, w1.next_message_box_index, msg2)
            state["idx2"] = w1.next_message_box_index
            state["idx3"] = w2.next_message_box_index
            c1 = await alice.get_message_box_index_counter(chan.first_message_index)
            c2 = await alice.get_message_box_index_counter(idx2)
            return {
                "ciphertext_len": len(w1.message_ciphertext),
                "envelope_hash_len": len(w1.envelope_hash),
                "write_plaintext_empty": not res1.plaintext and not res2.plaintext,
                "next_index_matches_request": idx2 == w1.next_message_box_index,
                "counter_step": c2 - c1,
                "courier_identity_hash_len": len(res1.courier_identity_hash or b""),
            }

        await flow.step("encrypt_write", write())

        # 4. encrypt_read + start_resending_encrypted_message (Bob reads them back).
        async def read():
            _, res1 = await read_box(bob, chan.read_cap, chan.first_message_index)
            _, res2 = await read_box(bob, chan.read_cap, state["idx2"])
            return {
                "plaintext_matches": res1.plaintext == msg1 and res2.plaintext == msg2,
                "plaintext_len": len(res1.plaintext or b""),
            }

        await flow.step("encrypt_read", read())

        # 5. Expected outcomes with the two flags.
        async def flags():
            nf = await expect_raises(
                read_box(bob, chan.read_cap, state["idx3"], no_retry_on_box_id_not_found=True),
                BoxIDNotFoundError,
            )
            ae = await expect_raises(
                write_box(
                    alice,
                    chan.write_cap,
                    chan.first_message_index,
                    b"overwrite attempt",
                    no_idempotent_box_already_exists=True,
                ),
                BoxAlreadyExistsError,
            )
            # Without the flag a repeated write is idempotent success.
            await write_box(alice, chan.write_cap, chan.first_message_index, b"overwrite attempt")
            _, still = await read_box(bob, chan.read_cap, chan.first_message_index)
            return {"not_found": nf, "already_exists": ae, "unchanged": still.plaintext == msg1}

        await flow.step("expected_outcomes", flags())

        # 6. tombstone_range, send the tombstones, then a read raises TombstoneError.
        async def tombstones():
            tr = await alice.tombstone_range(chan.write_cap, chan.first_message_index, 2)
            for env in tr.envelopes:
                await alice.start_resending_encrypted_message(
                    None,
                    chan.write_cap,
                    None,
                    None,
                    env.envelope_descriptor,
                    env.message_ciphertext,
                    env.envelope_hash,
                )
            first = await expect_raises(read_box(bob, chan.read_cap, chan.first_message_index), TombstoneError)
            second = await expect_raises(read_box(bob, chan.read_cap, state["idx2"]), TombstoneError)
            return {
                "envelopes": len(tr.envelopes),
                "next_is_third_index": tr.next == state["idx3"],
                "first_box_index_ok": tr.envelopes[0].box_index == chan.first_message_index,
                "read_first": first,
                "read_second": second,
            }

        await flow.step("tombstone_range", tombstones())

        # 7. Copy command from a single payload: temp channel, copy, read the destination.
        async def copy_from_payload():
            dest = await alice.new_keypair(os.urandom(32))
            temp = await alice.new_keypair(os.urandom(32))
            data = os.urandom(512)
            payload = struct.pack(">I", len(data)) + data
            res = await alice.create_courier_envelopes_from_payload(
                payload, dest.write_cap, dest.first_message_index, True, True
            )
            envelopes = res.envelopes or []
            await write_stream(alice, temp, envelopes)
            await alice.start_resending_copy_command(temp.write_cap)
            got = b""
            idx = dest.first_message_index
            boxes = 0
            while len(got) < len(payload) and boxes < len(envelopes) + 4:
                _, r = await read_box(bob, dest.read_cap, idx)
                got += r.plaintext or b""
                boxes += 1
                idx = await bob.next_message_box_index(idx)
            return {
                "envelopes": len(envelopes),
                "dest_boxes_read": boxes,
                "payload_matches": got == payload,
                "next_dest_index_len": len(res.next_dest_index or b""),
            }

        await flow.step("copy_from_payload", copy_from_payload())

        # 8. Copy command from several payloads packed together (multi_payload).
        async def copy_multi():
            c1 = await alice.new_keypair(os.urandom(32))
            c2 = await alice.new_keypair(os.urandom(32))
            temp = await alice.new_keypair(os.urandom(32))
            p1 = b"secret for channel one " + os.urandom(4).hex().encode()
            p2 = b"confidential data for channel two " + os.urandom(4).hex().encode()
            res = await alice.create_courier_envelopes_from_multi_payload(
                [
                    {"payload": p1, "write_cap": c1.write_cap, "start_index": c1.first_message_index},
                    {"payload": p2, "write_cap": c2.write_cap, "start_index": c2.first_message_index},
                ],
                is_start=True,
                is_last=True,
            )
            envelopes = res.envelopes or []
            await write_stream(alice, temp, envelopes)
            await alice.start_resending_copy_command(temp.write_cap)
            _, r1 = await read_box(bob, c1.read_cap, c1.first_message_index)
            _, r2 = await read_box(bob, c2.read_cap, c2.first_message_index)
            return {
                "envelopes": len(envelopes),
                "next_dest_indices": len(res.next_dest_indices or []),
                "channel1_matches": r1.plaintext == p1,
                "channel2_matches": r2.plaintext == p2,
            }

        await flow.step("copy_multi_payload", copy_multi())

        # 9. The rest of what the reference test_core.py exercises against a daemon: directory
        #    authorities, the raw signed PKI document, and the echo service over send_message.
        async def pki_and_echo():
            auths = await alice.get_directory_authorities()
            raw, epoch = await alice.get_pki_document_raw(0)
            echo = alice.get_service("echo")
            ping = b"hello " + os.urandom(6).hex().encode()
            reply = await alice.blocking_send_message(ping, *echo.to_destination(), timeout_seconds=20)
            return {
                "authorities": len(auths),
                "identity_key_hash_len": len(auths[0]["identity_key_hash"]) if auths else 0,
                "raw_pki_len": len(raw or b""),
                "raw_pki_epoch": epoch,
                "echo_matches": reply[: len(ping)] == ping,
            }

        await flow.step("pki_and_echo", pki_and_echo())
    finally:
        for client in (alice, bob):
            if client is not None:
                client.stop()


async def write_stream(client, keypair, chunks):
    """Writes copy-stream elements to consecutive boxes of a temporary channel, then waits
    (as the reference tests do) until the last one is readable."""
    idx = keypair.first_message_index
    last = idx
    for chunk in chunks:
        w, _ = await write_box(client, keypair.write_cap, idx, chunk)
        last = idx
        idx = w.next_message_box_index
    if chunks:
        await read_box(client, keypair.read_cap, last)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: interop_flow.py <thinclient.toml>", file=sys.stderr)
        return 2
    flow = Flow()
    result = {"client_version": version("katzenpost-thinclient"), "ok": False, "steps": flow.steps}
    try:
        asyncio.run(run(sys.argv[1], flow))
        result["ok"] = all(s.get("ok") for s in flow.steps)
    except BaseException as exc:  # report, do not crash without a result line
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    print("KP_INTEROP_RESULT " + json.dumps(result, default=repr), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
