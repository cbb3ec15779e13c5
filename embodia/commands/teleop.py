"""``embodia teleop TASK``: drive the robot from a web browser, every attempt recorded as an episode.

The server binds 127.0.0.1 and prints a URL holding the session's token; open it in a browser on this machine
(or through an SSH tunnel). Ctrl-C or SIGTERM stops it: the episode in progress is kept, marked incomplete, and
``summary.json`` is written.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from embodia.commands.common import UsageError, check_task, seed_int, size_arg
from embodia.envs.core.rendering import RENDER_PRESETS


def default_out(env_id: str) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / "teleop" / f"{env_id.split('/')[-1]}-{stamp}"


def on_stop(args: argparse.Namespace) -> str:
    return f"; the attempts and summary.json are in {args.out}" if args.out is not None else ""


def cmd_teleop(args: argparse.Namespace) -> int:
    from embodia.teleop.server import TeleopServer
    from embodia.teleop.session import TeleopOptions, TeleopSession

    env_id = check_task(args.task)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    args.out = args.out or default_out(env_id)
    try:
        options = TeleopOptions(size=args.size, preset=args.preset, seed=args.seed, video=not args.no_video)
    except ValueError as error:
        raise UsageError(str(error)) from None
    env_kwargs = {} if args.episode_steps is None else {"episode_steps": args.episode_steps}
    try:
        session = TeleopSession(env_id, args.out, options, overwrite=args.overwrite, env_kwargs=env_kwargs)
    except (FileExistsError, NotADirectoryError, ValueError) as error:
        raise UsageError(str(error)) from None
    try:
        server = TeleopServer(session, args.port)
    except OSError as error:
        session.stop()
        raise UsageError(f"cannot serve on port {args.port} ({error.strerror}); choose another with --port") from None
    session.start()
    print(f"recording into {args.out}", flush=True)
    print(f"open: {server.url}  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()
        summary = session.stop()
        print(f"stopped: {summary.get('episodes', 0)} attempts recorded in {args.out}", file=sys.stderr)
        raise
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    teleop = commands.add_parser(
        "teleop", help="drive the robot from a web browser (keyboard, gamepad, buttons), every attempt recorded"
    )
    teleop.add_argument("task", metavar="TASK", help="task id, e.g. embodia/Reach-v0")
    teleop.add_argument("--port", type=int, default=8010, help="port on 127.0.0.1 (default 8010; 0: any free port)")
    teleop.add_argument("--out", type=Path, help="run folder to record into (default runs/teleop/TASK-TIME)")
    teleop.add_argument("--overwrite", action="store_true", help="replace a run already recorded in --out")
    teleop.add_argument("--episode-steps", type=int, help="the time limit in control steps (default: the task's)")
    teleop.add_argument("--seed", type=seed_int, default=0, help="episode k is seeded SEED + k (default 0)")
    teleop.add_argument("--size", type=size_arg, default=(480, 640), help="live view HEIGHTxWIDTH (default 480x640)")
    teleop.add_argument(
        "--preset", choices=RENDER_PRESETS, default="fast", help="render preset of the live view (default fast)"
    )
    teleop.add_argument("--no-video", action="store_true", help="no MP4 of the operator's view per attempt")
    teleop.set_defaults(handler=cmd_teleop, on_stop=on_stop)
