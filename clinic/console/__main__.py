"""The nurse console's commands.

python -m clinic.console [--host 127.0.0.1] [--port 8080]   serve the console (waitress)
python -m clinic.console create-user NAME [--password-stdin] [--role reviewer]
python -m clinic.console set-password NAME [--password-stdin]
python -m clinic.console grant-role NAME reviewer             may use the review queue
python -m clinic.console revoke-role NAME reviewer
python -m clinic.console create-token NAME                  prints the token once
python -m clinic.console revoke-token NAME
python -m clinic.console purge [--days N]                   delete handoffs, chat conversations, review
                                                            items and answer feedback older than retention_days
python -m clinic.console review-export [--dir DIR]          reviewed questions into data/nlu/reviewed/
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from datetime import timedelta
from pathlib import Path

from clinic.handoff.retention import purge_conversations, tracker_store_url
from clinic.handoff.review_store import ReviewStore
from clinic.handoff.store import ROLES, NotFound, StoreUnavailable, get_store, utcnow
from clinic.settings import get_settings

MIN_PASSWORD = 12


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise SystemExit("The two passwords differ; nothing was changed.")
    if len(password) < MIN_PASSWORD:
        raise SystemExit(f"Please use a password of at least {MIN_PASSWORD} characters; nothing was changed.")
    return password


def _serve(args) -> int:
    from waitress import serve

    from clinic.console import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    logging.getLogger("clinic.console").info("nurse console on http://%s:%d", args.host, args.port)
    # ident="": no server name and version in the responses.
    serve(app, host=args.host, port=args.port, threads=args.threads, ident="")
    return 0


def _create_user(args) -> int:
    store = get_store()
    if store.user_exists(args.name):
        raise SystemExit(f"{args.name} already exists; use set-password to change the password.")
    store.create_user(args.name, _read_password(args.password_stdin))
    for role in args.role or []:
        store.grant_role(args.name, role)
    print(f"Created {args.name}" + (f" with the role {', '.join(args.role)}." if args.role else "."))
    return 0


def _grant_role(args) -> int:
    try:
        added = get_store().grant_role(args.name, args.role)
    except NotFound:
        raise SystemExit(f"There is no user {args.name}.") from None
    print(f"{args.name} {'now has' if added else 'already had'} the role {args.role}.")
    return 0


def _revoke_role(args) -> int:
    try:
        removed = get_store().revoke_role(args.name, args.role)
    except NotFound:
        raise SystemExit(f"There is no user {args.name}.") from None
    print(f"{args.name} {'no longer has' if removed else 'did not have'} the role {args.role}.")
    return 0


def _review_export(args) -> int:
    from clinic.handoff.review_export import REVIEWED_DIR, export

    report = export(ReviewStore(get_store()), Path(args.dir) if args.dir else REVIEWED_DIR)
    print("\n".join(report.lines()))
    if report.written:
        print("Run `make train` to train on them; check them with `rasa data validate`.")
    return 0


def _set_password(args) -> int:
    try:
        get_store().set_password(args.name, _read_password(args.password_stdin))
    except NotFound:
        raise SystemExit(f"There is no user {args.name}.") from None
    print(f"Password changed for {args.name}; their sessions were ended.")
    return 0


def _create_token(args) -> int:
    token = get_store().create_token(args.name)
    print(token)
    print("Keep this token secret; it is not shown again. Send it as 'Authorization: Bearer <token>'.", file=sys.stderr)
    return 0


def _revoke_token(args) -> int:
    try:
        get_store().revoke_token(args.name)
    except NotFound:
        raise SystemExit(f"There is no active token {args.name}.") from None
    print(f"Revoked {args.name}.")
    return 0


def _purge(args) -> int:
    days = args.days if args.days is not None else get_settings().retention_days
    cutoff = utcnow() - timedelta(days=days)
    deleted = get_store().purge(cutoff)
    print(f"Deleted {deleted} handoffs (with their transcripts) created more than {days} days ago.")
    items, feedback = ReviewStore(get_store()).purge(cutoff)
    print(f"Deleted {items} review items and {feedback} answer feedback records from more than {days} days ago.")
    url = tracker_store_url()
    if url:
        conversations = purge_conversations(url, cutoff)
        print(f"Deleted {conversations} chat conversations from Rasa's tracker store, idle for more than {days} days.")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clinic.console", description="The nurse console.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=8)
    commands = parser.add_subparsers(dest="command")
    for name, helptext in (("create-user", "create a staff account"), ("set-password", "change a staff password")):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("name")
        command.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        if name == "create-user":
            command.add_argument("--role", action="append", choices=ROLES, help="also give this role (repeatable)")
    for name, helptext in (("grant-role", "give a staff account a role"), ("revoke-role", "take a role away")):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("name")
        command.add_argument("role", choices=ROLES)
    commands.add_parser("create-token", help="create an API token").add_argument("name")
    commands.add_parser("revoke-token", help="revoke an API token").add_argument("name")
    purge = commands.add_parser(
        "purge", help="delete handoffs, conversations and review items older than the retention period"
    )
    purge.add_argument("--days", type=int, default=None, help="override retention_days from the settings")
    export = commands.add_parser("review-export", help="write reviewed questions into the NLU training data")
    export.add_argument("--dir", default=None, help="where to write (default data/nlu/reviewed)")
    args = parser.parse_args(argv)
    handlers = {
        None: _serve,
        "create-user": _create_user,
        "set-password": _set_password,
        "create-token": _create_token,
        "revoke-token": _revoke_token,
        "purge": _purge,
        "grant-role": _grant_role,
        "revoke-role": _revoke_role,
        "review-export": _review_export,
    }
    try:
        return handlers[args.command](args)
    except StoreUnavailable as error:
        raise SystemExit(f"The handoff database is not available ({error}).") from None


if __name__ == "__main__":
    sys.exit(main())
