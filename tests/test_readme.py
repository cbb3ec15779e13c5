"""The README's Python examples run as written: a new user's first hour starts by pasting them.

Every ```python block of README.md is executed in order in one namespace (later blocks use names the earlier ones
made, as a reader's session would), and what the text around them promises is checked on what they made: the
frame, the vector env's batch, the pixel and point-cloud observations, the batched expert's step.
"""

from __future__ import annotations

import argparse
import re
import shlex
import types
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def run_block(blocks: list[str], number: int, namespace: dict) -> None:
    try:
        exec(compile(blocks[number], f"README.md python block {number}", "exec"), namespace)
    except Exception as error:
        raise AssertionError(f"README.md's python block {number} fails:\n{blocks[number]}") from error


def test_the_readme_python_examples_run_and_do_what_the_text_says() -> None:
    blocks = python_blocks()
    assert len(blocks) == 3, f"README.md has {len(blocks)} python blocks: check each one here"
    namespace: dict = {"__name__": "readme"}
    made = []  # every env the examples make, to check and close
    try:
        run_block(blocks, 0, namespace)
        frame, envs = namespace["frame"], namespace["envs"]
        made += [namespace["env"], envs]
        assert frame.shape == (480, 640, 3) and frame.std() > 10  # "480x640 RGB, headless", and not blank
        assert all(namespace["info"]["instruction"])  # every episode says what it asks for, in words
        assert all(np.shape(value)[0] == 64 for value in namespace["obs"].values())  # 64 simulations

        gym = namespace["gym"]  # the next block's gym.make calls, kept to look at what they made
        namespace["gym"] = types.SimpleNamespace(make=lambda *a, **k: made.append(gym.make(*a, **k)) or made[-1])
        run_block(blocks, 1, namespace)
        namespace["gym"] = gym
        pixels, cloud = made[-2:]
        obs, _ = pixels.reset(seed=0)
        for camera in ("work", "robot_wrist"):  # RGB, depth in metres and classes per camera
            rgb, depth, classes = (obs[f"{kind}_{camera}"] for kind in ("camera", "depth", "segmentation"))
            assert rgb.shape == (84, 84, 3) and rgb.std() > 10  # an image, not a blank
            assert depth.shape == (84, 84, 1) and 0.01 < depth.min() < 3.0
            assert classes.shape == (84, 84, 1) and len(np.unique(classes)) >= 2
        obs, _ = cloud.reset(seed=0)
        assert obs["point_xyz"].shape == (1024, 3) and np.isfinite(obs["point_xyz"]).all()

        run_block(blocks, 2, namespace)
        made.append(namespace["env"])
        info, reward = namespace["info"], namespace["reward"]
        assert reward.shape == (16,) and info["success"].shape == (16,) and np.isfinite(reward).all()
    finally:
        for env in made:
            env.close()


def readme_commands() -> tuple[list[str], list[str]]:
    """The README's ``embodia ...`` and ``python experiments|tools/...`` commands: (the lines of its shell blocks,
    continuations joined and comments cut; the commands its text quotes inline, often a subcommand and an option)."""
    text = README.read_text()
    blocks = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if re.match(r"embodia |python (experiments|tools)/\S", line):
                blocks.append(line)
    inline = re.findall(r"`((?:embodia |python (?:experiments|tools)/\S)[^`]*)`", text)
    return sorted(set(blocks)), sorted(set(inline) - set(blocks))


#: words a command uses as a placeholder for the reader's own value: such a command is shown, not run as is
PLACEHOLDERS = re.compile(r"\.\.\.|\[|<|\b(TASK|RUN|FILE|DIR|NAME|N|P|C|S|HxW|ADDR)\b")


def _subcommand(parser: argparse.ArgumentParser, words: list[str]) -> tuple[argparse.ArgumentParser | None, str]:
    """The (sub)parser the words name, through nested subcommands, and the path of names that led to it."""
    path = "embodia"
    for word in words:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word.startswith("-"):
            break
        if word not in actions[0].choices:
            return None, f"{path} has no subcommand {word!r} (it has {', '.join(sorted(actions[0].choices))})"
        parser, path = actions[0].choices[word], f"{path} {word}"
    return parser, path


def test_every_command_in_the_readme_names_a_real_command_and_real_options() -> None:
    from embodia.cli import build_parser

    blocks, inline = readme_commands()
    assert len(blocks) > 20 and len(inline) > 20, "the README's commands were not found"
    problems = []
    for command in blocks + inline:
        words = shlex.split(command)
        if words[0] == "embodia":
            parser, path = _subcommand(build_parser(), words[1:])
            if parser is None:
                problems.append(f"{command}: {path}")
                continue
            known = {option for action in parser._actions for option in action.option_strings}
            problems += [f"{command}: {path} has no option {word}" for word in words
                         if word.startswith("--") and word.split("=")[0] not in known]  # fmt: skip
            if command in blocks and not PLACEHOLDERS.search(command):
                try:
                    build_parser().parse_args(words[1:])
                except SystemExit:
                    problems.append(f"{command}: the CLI rejects it")
        else:
            script = README.parent / words[1]
            if not script.is_file():
                problems.append(f"{command}: {words[1]} does not exist")
                continue
            source = script.read_text()
            problems += [f"{command}: {words[1]} has no option {word}" for word in words[2:]
                         if word.startswith("--") and f'"{word}"' not in source]  # fmt: skip
    assert problems == [], "\n".join(problems)
