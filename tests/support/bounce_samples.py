"""Returned messages as real mail servers write them, for the bounce tests.

Written after the shapes Postfix, Exim, Gmail, Microsoft 365 and Yahoo's
feedback loop send (headers, part layout, wording), with our VERP address where
theirs carry the envelope sender. ``{verp}`` is the bounce address (the
original message's MAIL FROM), ``{rcpt}`` the reader's address, ``{n}`` makes
each message's own Message-ID unique.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.workers import worker_database_url

ROOT = Path(__file__).resolve().parents[2]

ORIGINAL_HEADERS = """\
Return-Path: <{verp}>
Received: from mail.tocsin.example.org (mail.tocsin.example.org [192.0.2.10])
\tby mx.example.net (Postfix) with ESMTPS id 4Q9yX11c2Bz9s
\tfor <{rcpt}>; Thu, 03 Dec 2026 14:02:11 +0000 (UTC)
From: Tocsin Demo Network <bulletin@tocsin.example.org>
To: {rcpt}
Subject: Water defenders detained in Cajamarca
Message-ID: <tocsin.1.{n}@tocsin.example.org>
Date: Thu, 03 Dec 2026 14:02:10 +0000
"""

POSTFIX_HARD = """\
Return-Path: <>
Delivered-To: {verp}
Received: by mail.tocsin.example.org (Postfix) id 7D2F21C0A41; Thu,  3 Dec 2026 14:02:12 +0000 (UTC)
Date: Thu,  3 Dec 2026 14:02:12 +0000 (UTC)
From: MAILER-DAEMON@mail.tocsin.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="7D2F21C0A41.1701612132/mail.tocsin.example.org"
Message-Id: <20261203140212.7D2F21C0A41.{n}@mail.tocsin.example.org>

This is a MIME-encapsulated message.

--7D2F21C0A41.1701612132/mail.tocsin.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.tocsin.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{rcpt}>: host mx.example.net[198.51.100.7] said: 550 5.1.1
    <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--7D2F21C0A41.1701612132/mail.tocsin.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.tocsin.example.org
X-Postfix-Queue-ID: 7D2F21C0A41
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Thu,  3 Dec 2026 14:02:10 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User
    unknown in virtual mailbox table

--7D2F21C0A41.1701612132/mail.tocsin.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{original}
--7D2F21C0A41.1701612132/mail.tocsin.example.org--
"""

POSTFIX_DELAYED = (
    POSTFIX_HARD.replace("Undelivered Mail Returned to Sender", "Delayed Mail (still being retried)")
    .replace(
        "Action: failed\nStatus: 5.1.1",
        "Action: delayed\nStatus: 4.4.1\nWill-Retry-Until: Thu, 10 Dec 2026 14:02:10 +0000",
    )
    .replace(
        "Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User\n"
        "    unknown in virtual mailbox table",
        "Diagnostic-Code: X-Postfix; connect to mx.example.net[198.51.100.7]:25: Connection timed out",
    )
)

EXIM_HARD = """\
Return-path: <>
Envelope-to: {verp}
Delivery-date: Thu, 03 Dec 2026 14:05:01 +0000
From: Mail Delivery System <Mailer-Daemon@relay.tocsin.example.org>
To: {verp}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1r9ABC-000{n}-Qx@relay.tocsin.example.org>
Date: Thu, 03 Dec 2026 14:05:01 +0000
X-Failed-Recipients: {rcpt}
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    host mx.example.net [198.51.100.7]
    SMTP error from remote mail server after RCPT TO:<{rcpt}>:
    550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

{original}
Three water defenders were detained this morning.
"""

GMAIL_HARD = """\
Delivered-To: {verp}
Return-Path: <>
Received: by 2002:a05:6214:b82:b0:6d8:8e01:5c4d with SMTP id {n}; Thu, 3 Dec 2026 06:02:14 -0800 (PST)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {verp}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Message-ID: <6591a1c6.050a0220.{n}.b2a1.GMR@mx.google.com>
Date: Thu, 03 Dec 2026 06:02:14 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000e4b1a0061b9f5c01"; report-type=delivery-status

--000000000000e4b1a0061b9f5c01
Content-Type: multipart/related; boundary="000000000000e4b1b6061b9f5c02"

--000000000000e4b1b6061b9f5c02
Content-Type: multipart/alternative; boundary="000000000000e4b1b7061b9f5c03"

--000000000000e4b1b7061b9f5c03
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {rcpt} because the address couldn't be found, or is unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist.

--000000000000e4b1b7061b9f5c03
Content-Type: text/html; charset="UTF-8"

<html><body><h1>Address not found</h1><p>Your message wasn't delivered to <b>{rcpt}</b>.</p></body></html>

--000000000000e4b1b7061b9f5c03--
--000000000000e4b1b6061b9f5c02--
--000000000000e4b1a0061b9f5c01
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; bulletin@tocsin.example.org
Arrival-Date: Thu, 03 Dec 2026 06:02:13 -0800 (PST)
X-Original-Message-ID: <tocsin.1.{n}@tocsin.example.org>

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.102.27, the server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
Last-Attempt-Date: Thu, 03 Dec 2026 06:02:14 -0800 (PST)

--000000000000e4b1a0061b9f5c01
Content-Type: message/rfc822

{original}
Three water defenders were detained this morning.

--000000000000e4b1a0061b9f5c01--
"""

MICROSOFT_HARD = """\
Received: from DM6PR07MB1234.namprd07.prod.outlook.com with mapi id 15.20.7091.000; Thu, 3 Dec 2026 14:02:15 +0000
From: postmaster@outlook.com
To: {verp}
Date: Thu, 3 Dec 2026 14:02:15 +0000
Subject: Undeliverable: Water defenders detained in Cajamarca
Message-ID: <a3f2c1d0-{n}-4e5f-9a8b-DM6PR07MB1234@DM6PR07MB1234.namprd07.prod.outlook.com>
Content-Language: en-US
X-MS-Exchange-Message-Is-Ndr:
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_a3f2c1d0_"
MIME-Version: 1.0

--_000_a3f2c1d0_
Content-Type: text/plain; charset="us-ascii"

Your message to {rcpt} couldn't be delivered.
{rcpt} wasn't found at outlook.com.

Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

--_000_a3f2c1d0_
Content-Type: message/delivery-status

Reporting-MTA: dns;DM6PR07MB1234.namprd07.prod.outlook.com
Received-From-MTA: dns;mail.tocsin.example.org
Arrival-Date: Thu, 3 Dec 2026 14:02:14 +0000

Final-Recipient: rfc822;{rcpt}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--_000_a3f2c1d0_
Content-Type: text/rfc822-headers

{original}
--_000_a3f2c1d0_--
"""

MICROSOFT_EXPIRED = MICROSOFT_HARD.replace("Status: 5.1.10", "Status: 4.4.7").replace(
    "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    "smtp;450 4.4.7 Message expired, mailbox full",
)

ARF_COMPLAINT = """\
Return-Path: <feedback@yahoo.example>
Delivered-To: abuse@tocsin.example.org
From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>
To: abuse@tocsin.example.org
Subject: FW: Water defenders detained in Cajamarca
Message-ID: <arf-{n}@arf.mail.yahoo.com>
Date: Thu, 03 Dec 2026 15:10:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="----=_Part_{n}"

------=_Part_{n}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.10 on Thu, 03 Dec 2026 14:02:11 +0000.
For more information about this format please see http://www.mipassoc.org/arf/.

------=_Part_{n}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Original-Mail-From: <{verp}>
Original-Rcpt-To: <{rcpt}>
Arrival-Date: Thu, 03 Dec 2026 14:02:11 +0000
Reported-Domain: tocsin.example.org
Source-IP: 192.0.2.10

------=_Part_{n}
Content-Type: message/rfc822
Content-Disposition: inline

{original}
Three water defenders were detained this morning.

------=_Part_{n}--
"""

VACATION_REPLY = """\
Delivered-To: {verp}
From: Reader <{rcpt}>
To: {verp}
Subject: Out of office: Water defenders detained in Cajamarca
Auto-Submitted: auto-replied
Message-ID: <ooo-{n}@example.net>
Date: Thu, 03 Dec 2026 14:03:00 +0000

I am away until the 15th with no access to email.
"""

SAMPLES = {
    "postfix_hard": POSTFIX_HARD,
    "postfix_delayed": POSTFIX_DELAYED,
    "exim_hard": EXIM_HARD,
    "gmail_hard": GMAIL_HARD,
    "microsoft_hard": MICROSOFT_HARD,
    "microsoft_expired": MICROSOFT_EXPIRED,
    "arf_complaint": ARF_COMPLAINT,
    "vacation_reply": VACATION_REPLY,
}


def render(name: str, *, verp: str, rcpt: str, n: int = 1) -> bytes:
    original = ORIGINAL_HEADERS.format(verp=verp, rcpt=rcpt, n=n)
    text = SAMPLES[name].format(verp=verp, rcpt=rcpt, n=n, original=original)
    return text.replace("\n", "\r\n").encode("utf-8")


def ingest_bounce(raw: bytes) -> subprocess.CompletedProcess[bytes]:
    """``manage.py ingest_bounce`` in its own process against the test database, ``raw`` on standard input."""
    env = dict(os.environ)
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": worker_database_url()})
    env.pop("ESP", None)
    return subprocess.run(
        [sys.executable, "manage.py", "ingest_bounce"],
        cwd=ROOT,
        env=env,
        input=raw,
        capture_output=True,
        timeout=120,
        check=False,
    )
