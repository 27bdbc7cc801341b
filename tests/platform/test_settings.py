"""Settings come from the environment with working defaults; production settings pass check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_settings(env_overrides, expression):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ARTIFACT_ROOT", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "VAR_DIR",
                                                        "DATABASE_PREPARE_THRESHOLD"}}
    env.update(env_overrides)
    code = f"import sys; sys.path[:0]=['.', 'platform']; import settings; print(({expression}))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_defaults_are_sqlite_and_var_artifacts():
    result = run_settings({}, "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'], settings.ARTIFACT_ROOT, settings.DEBUG")
    assert result.returncode == 0, result.stderr
    engine, name, artifacts, debug = eval(result.stdout.replace("PosixPath", ""))
    assert engine == "django.db.backends.sqlite3"
    assert Path(name) == ROOT / "var" / "db.sqlite3"
    assert Path(artifacts) == ROOT / "var" / "artifacts"
    assert debug is True


def test_environment_overrides():
    result = run_settings(
        {"DATABASE_URL": "postgres://u:p@db.example:5433/rlhf", "ARTIFACT_ROOT": "/srv/artifacts", "ALLOWED_HOSTS": "a.example,b.example"},
        "settings.DATABASES['default']['HOST'], settings.DATABASES['default']['PORT'], str(settings.ARTIFACT_ROOT), settings.ALLOWED_HOSTS",
    )
    assert result.returncode == 0, result.stderr
    assert eval(result.stdout) == ("db.example", 5433, "/srv/artifacts", ["a.example", "b.example"])


def test_prepared_statements_on_postgresql_can_be_turned_off_for_a_pooler():
    options = "settings.DATABASES['default']['OPTIONS']['prepare_threshold']"
    url = {"DATABASE_URL": "postgres://u@db.example/rlhf"}
    assert run_settings(url, options).stdout.strip() == "5"
    assert run_settings({**url, "DATABASE_PREPARE_THRESHOLD": "off"}, options).stdout.strip() == "None"
    bad = run_settings({**url, "DATABASE_PREPARE_THRESHOLD": "often"}, options)
    assert bad.returncode != 0 and "DATABASE_PREPARE_THRESHOLD must be a number of runs or 'off'" in bad.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = run_settings({"DEBUG": "0"}, "1")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_configuration_passes_check_deploy():
    # A deployment's environment: nothing the test process itself sets (e.g. browser tests' async allowance).
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"DEBUG": "0", "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-" + "y" * 20, "ALLOWED_HOSTS": "rlhf.example"})
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
