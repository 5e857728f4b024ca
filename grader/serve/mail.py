"""Sign-in links by mail (``convgrade serve-tokens --mail``): one message per person over SMTP,
in the person's language, with the settings of ``[serve.mail]`` (grader.serve.config).

The link (and so the token) goes only into the message body: never into a log line, an
exception text or the command's output.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from .config import MailConfig


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the login (the message names the server)."""


def message(cfg: MailConfig, to: str, name: str, link: str, course: str, lang: str) -> EmailMessage:
    from grader.i18n import t
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = formataddr((name, to)) if name else to
    msg["Subject"] = t("serve.mail_subject", lang=lang, course=course)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rsplit("@", 1)[-1].strip(">") or None)
    msg.set_content(t("serve.mail_body", lang=lang, name=name or to, course=course, link=link))
    return msg


class Mailer:
    """One SMTP connection for a batch of messages (``with Mailer(cfg) as m: m.send(msg)``)."""

    def __init__(self, cfg: MailConfig, timeout: float = 30.0):
        self.cfg, self.timeout, self.smtp = cfg, timeout, None

    def __enter__(self) -> "Mailer":
        cfg = self.cfg
        where = f"{cfg.host}:{cfg.port}"
        password = ""
        if cfg.username:
            password = os.environ.get(cfg.password_env, "")
            if not password:
                raise MailError(f"[serve.mail] username is set but ${cfg.password_env} (the password) is empty")
        try:
            if cfg.ssl:
                self.smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout,
                                             context=ssl.create_default_context())
            else:
                self.smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout)
                if cfg.starttls:
                    self.smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                self.smtp.login(cfg.username, password)
        except smtplib.SMTPAuthenticationError:
            self.close()
            raise MailError(f"the SMTP server {where} refused the login of {cfg.username!r}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"cannot send mail through {where}: {type(exc).__name__}: {exc}") from None
        return self

    def send(self, msg: EmailMessage) -> str:
        """Send one message; "" when it was accepted, else why not (never the message text)."""
        try:
            refused = self.smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused:
            return "the server refused the recipient"
        except (OSError, smtplib.SMTPException) as exc:
            return f"{type(exc).__name__}"
        return "the server refused the recipient" if refused else ""

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def __exit__(self, *exc) -> None:
        self.close()
