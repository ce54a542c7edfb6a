"""An SMTP sink on loopback for the invitation-email tests (aiosmtpd).

    python tests/smtp/sink.py OUT_DIR [--user NAME --password SECRET]

Listens on 127.0.0.1 on a free port and prints the port on the first line of
stdout. Every message it receives is parsed and written to OUT_DIR as
NNNN.json: the envelope (mailFrom, rcptTos), the headers From, To, Subject,
the content type and the decoded plain-text body, and the user that
authenticated. With --user and --password it offers AUTH without TLS (this is
loopback) and refuses mail from a client that did not log in with them.
"""

import argparse
import asyncio
import email
import json
import os
from email import policy

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        login = session.auth_data
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "contentType": msg.get_content_type(),
            "body": body.get_content() if body is not None else "",
            "user": login.decode() if isinstance(login, bytes) else login,
        }
        self.count += 1
        path = os.path.join(self.out, f"{self.count:04}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)
    return check


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()
    handler = Sink(args.out)
    options = {}
    if args.user:
        options = dict(authenticator=authenticator(args.user, args.password or ""),
                       auth_required=True, auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **options), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
