"""Basic auth users from CAPMON_WEB_USERS_FILE: bcrypt hashes as Prometheus and htpasswd -B write them; a bad
file is one clear line; a good password is remembered for a while, a wrong one never."""

from __future__ import annotations

import base64

import bcrypt
import pytest

from readout.users import REMEMBER_S, WebUsers
from streams.errors import ConfigError


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("users") / "users"
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"# duty officers\nofficer:{hashed}\n\nplanner:{hashed.replace('$2b$', '$2y$', 1)}\n")
    return path


def test_the_right_password_passes_and_anything_else_does_not(users_file):
    users = WebUsers.load(users_file)
    assert users.allows(basic("officer", "s3cret")) and users.allows(basic("planner", "s3cret"))
    for header in (None, "", basic("officer", "wrong"), basic("nobody", "s3cret"), "Bearer x", "Basic !!!",
                   "Basic " + base64.b64encode(b"\xff\xfe").decode()):
        assert not users.allows(header), header


def test_a_good_check_is_remembered_for_a_while_and_then_checked_again(users_file):
    now = [0.0]
    users = WebUsers(WebUsers.load(users_file).hashes, clock=lambda: now[0])
    assert users.allows(basic("officer", "s3cret"))
    users.hashes["officer"] = bcrypt.hashpw(b"changed", bcrypt.gensalt(rounds=4))  # the password is changed
    assert users.allows(basic("officer", "s3cret"))  # remembered
    now[0] += REMEMBER_S + 1
    assert not users.allows(basic("officer", "s3cret"))  # checked again against the file's hash
    assert users.allows(basic("officer", "changed"))


@pytest.mark.parametrize("content, says", [("officer\n", "line 1: expected user:bcrypt-hash"),
                                           ("officer:plain-text\n", "line 1: expected user:bcrypt-hash"),
                                           ("officer:$2y$REPLACE-ME\n", "line 1: expected user:bcrypt-hash"),
                                           ("# nobody\n\n", "no users in it")])
def test_a_bad_users_file_is_one_clear_line(tmp_path, content, says):
    path = tmp_path / "users"
    path.write_text(content)
    with pytest.raises(ConfigError, match=says):
        WebUsers.load(path)
    with pytest.raises(ConfigError, match="cannot read it"):
        WebUsers.load(tmp_path / "missing")


def test_the_compose_placeholder_is_refused_so_nobody_runs_with_it():
    from tests.support.helpers import REPO

    with pytest.raises(ConfigError, match="line 1: expected user:bcrypt-hash"):
        WebUsers.load(REPO / "deploy" / "secrets.example" / "web_users")
