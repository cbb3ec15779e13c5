"""``embodia review DIR``: a static review site for the episodes recorded under DIR, optionally served."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embodia.commands.common import UsageError


def cmd_review(args: argparse.Namespace) -> int:
    from embodia.review.collect import ReviewInputError
    from embodia.review.server import ServeError, make_server
    from embodia.review.site import build_site

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    try:
        result = build_site(args.dir, args.out)
    except ReviewInputError as error:
        raise UsageError(str(error)) from None
    for skipped in result.skipped:
        print(f"embodia: warning: {skipped.path}: {skipped.reason}; skipped", file=sys.stderr)
    print(f"review site: {result.episodes} episodes, {len(result.skipped)} warnings")
    print(f"open: {result.index_html.resolve().as_uri()}")
    if args.serve:
        try:
            server, url = make_server(result.out, args.dir, args.port)
        except OSError as error:
            raise UsageError(
                f"cannot serve on port {args.port} ({error.strerror}); choose another with --port"
            ) from None
        except ServeError as error:
            raise UsageError(str(error)) from None
        for refused in server.allowlist.refused:  # only the site's files and the videos it links are served
            print(f"embodia: warning: {refused}; not served", file=sys.stderr)
        print(f"serving at {url} (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
        finally:
            server.server_close()
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    review = commands.add_parser(
        "review", help="build a static review site (gallery, plots, comparison, accept/reject) for recorded episodes"
    )
    review.add_argument("dir", metavar="DIR", type=Path, help="a run folder, or a folder of run folders at any depth")
    review.add_argument("--out", type=Path, help="where to write the site (default: DIR/review)")
    review.add_argument(
        "--serve",
        action="store_true",
        help="serve the site on 127.0.0.1 after building it (its pages and the videos they link, nothing else)",
    )
    review.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000; 0: any free port)")
    review.set_defaults(handler=cmd_review)
