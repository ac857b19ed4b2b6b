import subprocess
import sys


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from medzero.cli import build_app; build_app(); "
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"CLI start-up imported heavy modules: {out.stdout}"


def test_version():
    out = subprocess.run([sys.executable, "-m", "medzero.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("medzero ")


def test_list_reads_the_registries():
    out = subprocess.run(
        [sys.executable, "-m", "medzero.cli", "list", "rewards"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.startswith("rewards: ") and "accuracy" in out.stdout and "format" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "medzero.cli", "list", "reward-presets"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout == "reward-presets: seed\n"


def test_user_error_exits_2_without_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "medzero.cli", "list", "reward"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert 'Did you mean "rewards"' in out.stderr and "Traceback" not in out.stderr
