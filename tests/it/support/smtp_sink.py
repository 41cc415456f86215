"""A real SMTP server on loopback for deskbell's tests (aiosmtpd).

Usage: smtp_sink.py DIR PORT. Each accepted message is written to DIR/N.eml.
Recipients whose local part starts with 'reject5xx' are refused with 550 and
'reject4xx' with 451, so tests exercise permanent and transient failures.
The server exits when its standard input closes (the test process ended).
"""
import itertools
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.numbers = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("reject5xx"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("reject4xx"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.numbers)
        tmp = os.path.join(self.directory, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, f"{n}.eml"))
        return "250 Message accepted"


controller = Controller(Sink(sys.argv[1]), hostname="127.0.0.1", port=int(sys.argv[2]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
