"""``embodia replay FILE``: re-render a recorded episode from its MuJoCo states, and check that it replays exactly."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from embodia.commands.common import UsageError, size_arg
from embodia.envs.core.rendering import RENDER_PRESETS

#: exit status when a replay departs from its recording
REPLAY_MISMATCH = 1


def default_video_path(episode_path: Path, cameras: list[str]) -> Path:
    """Next to the episode, named by its cameras, so that replays never replace the recorded video."""
    views = "+".join(camera.replace("/", "-") for camera in cameras)
    return episode_path.with_name(f"{episode_path.stem}.replay.{views}.mp4")


def cmd_replay(args: argparse.Namespace) -> int:
    """Errors about the file (unreadable, crafted, unknown task, invalid options) are ``DataFileError`` lines."""
    from embodia.envs.record import replay
    from embodia.envs.record.episode import load_episode

    episode = load_episode(args.file)
    recorded_camera = episode.metadata.get("env_kwargs", {}).get("render_camera")
    cameras = args.camera or [recorded_camera if isinstance(recorded_camera, str) else "front"]
    out = args.out or default_video_path(args.file, cameras)
    gif = out.with_suffix(".gif") if args.gif else None
    for target in (out, gif):
        if not args.no_video and target is not None and target.exists() and not args.overwrite:
            raise UsageError(f"{target} exists; choose another --out or pass --overwrite")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", replay.ReplayVersionWarning)
        env = replay.make_replay_env(
            episode, str(args.file), render_size=args.render_size, render_preset=args.render_preset
        )
    for warning in caught:
        print(f"embodia: warning: {warning.message}")
    names = [env.model.camera(i).name for i in range(env.model.ncam)]
    unknown = [camera for camera in cameras if camera not in names]
    if unknown:
        env.close()
        where = "" if args.camera else f"{args.file}: its recorded render_camera: "  # the file chose it
        raise UsageError(f"{where}unknown camera {unknown[0]!r}; valid: {', '.join(names)}")
    status = 0
    try:
        if not args.no_check:
            for name, comparison in (
                ("restored observations", replay.compare_observations(env, episode)),
                ("re-simulated states", replay.resimulate(env, episode)),
            ):
                if comparison.identical:
                    print(f"{name}: identical to the recording ({episode.length} steps)")
                else:
                    status = REPLAY_MISMATCH
                    print(
                        f"{name}: DIFFER from step {comparison.first_mismatch} ({comparison.what}, "
                        f"largest difference {comparison.max_abs_difference:.3g})"
                    )
        if not args.no_video:
            replay.write_replay_video(env, episode, out, tuple(cameras), not args.no_overlay, gif, args.overwrite)
            print(f"video: {out.resolve()}" + (f"\ngif: {gif.resolve()}" if gif else ""))
    finally:
        env.close()
    return status


def register(commands: argparse._SubParsersAction) -> None:
    replay = commands.add_parser(
        "replay", help="re-render a recorded episode from any camera, size and preset; check it replays exactly"
    )
    replay.add_argument("file", metavar="FILE", type=Path, help="an episode file (episode_XXXX.npz)")
    replay.add_argument(
        "--camera", action="append", help="camera to render; repeat to tile several side by side (default: recorded)"
    )
    replay.add_argument("--render-size", type=size_arg, default=(480, 640), metavar="HxW", help="size of each view")
    replay.add_argument("--render-preset", choices=tuple(RENDER_PRESETS), default="quality")
    replay.add_argument("--out", type=Path, help="video path (default: FILE's name with .replay.CAMERAS.mp4)")
    replay.add_argument("--gif", action="store_true", help="also write a GIF next to the video")
    replay.add_argument("--no-overlay", action="store_true", help="no step, reward, success and force overlay")
    replay.add_argument("--no-video", action="store_true", help="only check the replay")
    replay.add_argument("--no-check", action="store_true", help="skip the exactness check (render only)")
    replay.add_argument("--overwrite", action="store_true", help="replace an existing replay video")
    replay.set_defaults(handler=cmd_replay)
