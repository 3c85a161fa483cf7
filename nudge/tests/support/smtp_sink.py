"""A real SMTP server on loopback for floodlight's e-mail tests (aiosmtpd).

    smtp_sink.py [PORT] [--starttls CERT KEY | --tls CERT KEY]
                 [--auth USER:PASSWORD] [--out FILE]

PORT 0 (the default) picks a free port. Once the server accepts connections
it prints `listening 127.0.0.1:<port>` on stdout. It runs until stdin closes
or it is killed.

--starttls CERT KEY  offer STARTTLS with this PEM certificate and key, and
                     refuse MAIL before it (530)
--tls CERT KEY       TLS from the first byte (SMTPS) instead
--auth USER:PASS     require AUTH PLAIN or LOGIN before MAIL; a wrong
                     password gets 535
--out FILE           append one JSON line per accepted message:
                     {"mail_from", "rcpt_tos", "data" (the raw message),
                      "tls" (bool), "auth_user" (or null), and, decoded,
                      "headers" {name: value}, "text" and "html" (the
                      text/plain and text/html parts, or null)}

Installed by deploy/install-python-tools.sh; the Rust side is smtp.rs here.
"""

import argparse
import email
import email.policy
import json
import signal
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        msg = email.message_from_bytes(content, policy=email.policy.default)

        def part(kind):
            body = msg.get_body(preferencelist=(kind,))
            return body.get_content() if body is not None else None

        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": content.decode("utf-8", "replace"),
            "tls": bool(tls),
            "auth_user": session.auth_data if session.authenticated else None,
            "headers": {name: str(value) for name, value in msg.items()},
            "text": part("plain"),
            "html": part("html"),
        }
        if self.out:
            with open(self.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
        return "250 2.0.0 OK: queued"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("port", nargs="?", type=int, default=0)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", metavar="USER:PASSWORD")
    p.add_argument("--out", metavar="FILE")
    args = p.parse_args()
    if args.starttls and args.tls:
        p.error("--starttls and --tls exclude each other")

    port = args.port or free_port()
    kwargs = {}
    if args.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*args.starttls)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if args.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*args.tls)
        kwargs.update(ssl_context=ctx)
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            if not isinstance(auth_data, LoginPassword):
                return AuthResult(success=False, handled=False)
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

        # Implicit TLS is TLS too, but aiosmtpd only counts STARTTLS.
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.starttls))

    controller = Controller(Recorder(args.out), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print(f"listening 127.0.0.1:{port}", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        # Until whoever started us closes our stdin (or goes away).
        while sys.stdin.buffer.read(4096):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
