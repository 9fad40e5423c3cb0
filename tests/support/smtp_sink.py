"""A real SMTP receiver for dcrawl's tests: aiosmtpd saving every accepted message.

Usage: smtp_sink.py OUT_DIR [--starttls CERT KEY] [--auth USER PASSWORD]
Prints "READY <port>" once it accepts connections; runs until killed or stdin closes.
Each message is saved as OUT_DIR/<n>.eml (raw data) and OUT_DIR/<n>.json (envelope).
A recipient starting with "reject" is refused with 550.
"""
import json, os, socket, ssl, sys, threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out_dir = sys.argv[1]
args = sys.argv[2:]
tls_context = None
credentials = None
while args:
    if args[0] == "--starttls":
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args[1], args[2])
        args = args[3:]
    elif args[0] == "--auth":
        credentials = (args[1].encode(), args[2].encode())
        args = args[3:]
    else:
        sys.exit("unknown argument " + args[0])

lock = threading.Lock()
count = [0]


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with lock:
            count[0] += 1
            n = count[0]
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": bool(session.ssl),
            "auth_user": session.auth_data.login.decode() if session.authenticated else None,
        }
        raw = envelope.original_content or envelope.content
        for name, data in (("%d.eml" % n, raw), ("%d.json" % n, json.dumps(meta).encode())):
            tmp = os.path.join(out_dir, name + ".tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, os.path.join(out_dir, name))
        return "250 OK: queued as %d" % n


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        credentials is not None
        and isinstance(auth_data, LoginPassword)
        and (auth_data.login, auth_data.password) == credentials
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


kwargs = {}
if tls_context is not None:
    kwargs.update(tls_context=tls_context, require_starttls=True)
if credentials is not None:
    kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=tls_context is not None)
port = free_port()
controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
print("READY %d" % port, flush=True)
try:
    sys.stdin.read()
finally:
    controller.stop()
