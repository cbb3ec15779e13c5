"""Headless rendering picks its OpenGL backend itself and says what to install when it cannot."""

import os
import subprocess
import sys


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "MUJOCO_GL"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)


def test_egl_is_chosen_when_the_user_has_not_chosen():
    result = run(
        "import os, gymnasium, embodia\n"
        "env = gymnasium.make('embodia/Handover-v0', render_mode='rgb_array', render_size=(32, 32))\n"
        "env.reset(seed=0)\n"
        "assert env.render().std() > 5\n"
        "print(os.environ['MUJOCO_GL'])\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "egl"


def test_a_backend_that_cannot_load_names_what_to_install():
    result = run("import embodia.envs", MUJOCO_GL="no-such-backend")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: MuJoCo failed to import with MUJOCO_GL=no-such-backend")
    assert "apt-get install libegl1" in last_line
