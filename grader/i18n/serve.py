"""Catalogue section ``serve``: what ``convgrade serve`` says to students and staff (pages,
refusals, sign-in mail). Keys are prefixed ``serve.``."""
from __future__ import annotations

MESSAGES = {
    "en": {
        "serve.mail_subject": "{course}: your sign-in link for the course's grader",
        "serve.mail_body": ("Hello {name},\n\n"
                            "this is your personal sign-in link for the submission service of {course}:\n\n"
                            "    {link}\n\n"
                            "Open it, press \"Sign in\", and upload your notebooks there. The link is yours "
                            "alone: do not share it. If you lose it, ask your instructor for a new one "
                            "(the old link then stops working).\n"),
    },
    "ru": {
        "serve.mail_subject": "{course}: ваша ссылка для входа в систему проверки",
        "serve.mail_body": ("Здравствуйте, {name}!\n\n"
                            "Это ваша личная ссылка для входа в систему сдачи заданий курса {course}:\n\n"
                            "    {link}\n\n"
                            "Откройте её, нажмите «Войти» и загружайте туда свои ноутбуки. Ссылка только "
                            "ваша: не передавайте её другим. Если вы её потеряете, попросите у преподавателя "
                            "новую (старая тогда перестанет работать).\n"),
    },
}
