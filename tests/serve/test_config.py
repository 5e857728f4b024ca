"""The server's settings in convgrade.toml: defaults, and each mistake named."""
from __future__ import annotations

import pytest

from grader.course import load_course
from grader.serve.config import ConfigError, load_config


def _cfg(tmp_path, text: str):
    (tmp_path / "convgrade.toml").write_text(text, encoding="utf-8")
    return load_config(tmp_path)


def test_defaults_and_a_full_file(tmp_path):
    assert load_config(tmp_path).mail is None and load_config(tmp_path).lang == "en"
    cfg = _cfg(tmp_path, 'name = "CNN"\nlang = "ru"\n[serve]\nstaff = ["ta1"]\n[serve.mail]\nhost = "smtp.x"\n'
                         'from = "a@x"\nusername = "bot"\n[lti]\ntool_url = "https://g.x/"\n[[lti.platform]]\n'
                         'issuer = "https://m.x"\nclient_id = "c"\ndeployment_ids = ["1"]\n'
                         'auth_login_url = "https://m.x/auth"\nkey_set_file = "jwks.json"\n')
    assert (cfg.name, cfg.lang, cfg.staff) == ("CNN", "ru", ("ta1",))
    assert (cfg.mail.port, cfg.mail.starttls, cfg.mail.password_env) == (587, True, "CONVGRADE_SMTP_PASSWORD")
    assert cfg.tool_url == "https://g.x" and cfg.platforms[0].key_set_file == tmp_path / "jwks.json"
    assert load_course(tmp_path).lang == "ru"          # the course loader accepts the server's tables


@pytest.mark.parametrize("text, says", [
    ('[serve]\nmail_host = "x"\n', "unknown key 'serve.mail_host'"),
    ('[serve.mail]\nhost = "x"\nfrom = "a@x"\nssl = true\nstarttls = true\n', "exclude each other"),
    ('[serve.mail]\nfrom = "a@x"\n', "serve.mail.host is required"),
    ('[serve.mail]\nhost = "x"\nfrom = "a@x"\npassword = "hunter2"\n', "unknown key 'serve.mail.password'"),
    ('[lti]\ntool_url = "https://g"\n[[lti.platform]]\nissuer = "i"\nclient_id = "c"\ndeployment_ids = ["1"]\n'
     'auth_login_url = "u"\n', "exactly one of key_set_url and key_set_file"),
    ('[[lti.platform]]\nissuer = "i"\n', "lti.tool_url is required"),
])
def test_mistakes_are_named(tmp_path, text, says):
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        _cfg(tmp_path, text)
